import ArgumentParser
import Foundation
import Tally
import TallyCommands

/// `tally quota ORG [METRIC]`.
struct QuotaCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quota",
        abstract: "Where an organization stands on its metered metrics in the current period.",
        discussion: """
            One row per metric of the organization's plan (or just METRIC): the period, usage,
            included quantity, soft and hard limits, and the state (within_included,
            over_included, soft_limit_reached, hard_limit_reached). With --as-of, the period
            holding that date, as the business stood then.

            Example:
              tally quota org_0042 api_calls --as-of 2026-06-15
            """)

    @OptionGroup var storage: DataDirectoryOptions
    @OptionGroup var query: QueryOptions
    @Argument(help: "The organization id.") var organization: String
    @Argument(help: "One metric (default: every metric of its plan).") var metric: String?

    func run() async throws {
        let engine = try storage.openExistingEngine()
        let (view, now) = try query.view(of: engine)
        guard let record = try view.subscription(of: organization) else {
            throw fail("no subscription for \(organization)")
        }
        guard let plan = try view.plan(record.subscription.planID)?.plan else {
            throw fail("no plan \(record.subscription.planID)")
        }
        let metrics = metric.map { [$0] } ?? plan.metrics.keys.sorted()
        var output = QueryOutput(columns: [
            "metric", "period_start", "usage", "included", "soft_limit", "hard_limit", "state",
        ])
        for metric in metrics {
            let status: QuotaStatus
            do { status = try view.quota(for: organization, metric: metric, at: now) } catch { throw fail("\(error)") }
            output.rows.append([
                .text(metric), .date(status.periodStart), .integer(status.usage), .integer(status.included),
                status.softLimit.map { .integer($0) } ?? .none, status.hardLimit.map { .integer($0) } ?? .none,
                .text(status.state.rawValue),
            ])
        }
        Swift.print(output.render(query.resolvedFormat), terminator: "")
    }
}
