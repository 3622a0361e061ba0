import ArgumentParser
import Billing
import Foundation
import Tally
import TallyCommands

/// `tally forecast [ORG [METRIC]]`.
struct ForecastCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "forecast",
        abstract:
            "Where an organization's usage is heading: a trend per metric, projected to the period's end against its limits.",
        discussion: """
            For each metric the plan meters (or METRIC alone): Holt's linear trend fitted on the
            last 28 complete UTC days (α and β chosen to fit best), the usage so far this billing
            period, the usage projected at its end, the limits, the day the trend crosses each,
            and the outlook: within_limits, soft_limit_expected, hard_limit_expected or
            hard_limit_reached. Sums and counts accumulate; maxima, latest values and unique
            counts are levels. docs/METRICS.md explains.

            Without ORG: every organization and metric whose outlook is not within_limits, so
            the ones about to be blocked show up before they are.

            Examples:
              tally forecast org_0042 api_calls --as-of 2026-06-15
              tally forecast --format csv
            """)

    @OptionGroup var storage: DataDirectoryOptions
    @OptionGroup var query: QueryOptions
    @Argument(help: "The organization id (none: every organization expected to cross a limit).") var organization:
        String?
    @Argument(help: "Only this metric.") var metric: String?

    func run() async throws {
        let engine = try storage.openExistingEngine()
        let (view, now) = try query.view(of: engine)
        let forecasts: [UsageForecast]
        if let organization {
            guard try view.organization(organization) != nil else { throw fail("no organization \(organization)") }
            do { forecasts = try view.forecasts(of: organization, metric: metric, at: now) } catch {
                throw fail("\(error)")
            }
        } else {
            forecasts = try view.flaggedForecasts(at: now)
        }
        var output = QueryOutput(columns: [
            "organization_id", "metric", "aggregation", "period_end", "current_usage", "projected_usage", "soft_limit",
            "hard_limit", "soft_limit_day", "hard_limit_day",
            "outlook", "trend_per_day", "alpha", "beta", "rmse", "last_7_days",
        ])
        output.rows = forecasts.map { forecast in
            let decimal = { (value: Double) in
                OutputValue.decimal((try? ExactDecimal(String(format: "%.2f", value))) ?? .zero)
            }
            return [
                .text(forecast.organizationID), .text(forecast.metric), .text(Self.name(forecast.aggregation)),
                forecast.periodEnd.map { .date($0) } ?? .none,
                .integer(forecast.currentUsage), .integer(forecast.projectedUsage),
                forecast.softLimit.map { .integer($0) } ?? .none,
                forecast.hardLimit.map { .integer($0) } ?? .none, forecast.softLimitDay.map { .date($0) } ?? .none,
                forecast.hardLimitDay.map { .date($0) } ?? .none, .text(forecast.outlook.rawValue),
                forecast.model.map { decimal($0.trend) } ?? .none,
                forecast.model.map { decimal($0.alpha) } ?? .none, forecast.model.map { decimal($0.beta) } ?? .none,
                forecast.model.map { decimal($0.error) } ?? .none,
                .structured(
                    cell: forecast.history.suffix(7).map(String.init).joined(separator: " "),
                    json: "[" + forecast.history.suffix(7).map(String.init).joined(separator: ",") + "]"),
            ]
        }
        Swift.print(output.render(query.resolvedFormat), terminator: "")
    }

    static func name(_ aggregation: Metric.Aggregation) -> String {
        switch aggregation {
        case .sum: "sum"
        case .count: "count"
        case .max: "max"
        case .latest: "latest"
        case .uniqueCount(let property): "unique_count(\(property))"
        }
    }
}
