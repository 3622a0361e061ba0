import Billing
public import Foundation
import Projections
import ReadModels

extension ReadModelView {
    /// How many complete days of history each forecast is fitted on.
    static let forecastHistoryDays: Int32 = 28

    /// Forecasts of `organizationID`'s usage of `metric` (or of every metric its plan meters),
    /// as of `date`, in metric order. Sums and counts accumulate day by day toward the period's
    /// end; maxima, latest values and unique counts are levels, projected to the period's end.
    public func forecasts(of organizationID: String, metric: String? = nil, at date: Date) throws -> [UsageForecast] {
        guard let record = try subscription(of: organizationID) else {
            throw EngineError.notFound("subscription of \(organizationID)")
        }
        let plan = try self.plan(record.subscription.planID)?.plan
        let names = metric.map { [$0] } ?? (plan?.metrics.keys.sorted() ?? [])
        return try names.map { name in
            let aggregation =
                plan?.metrics[name]?.metric.aggregation ?? Metric.standard.first { $0.name == name }?.aggregation
                ?? .sum
            return try forecast(
                of: organizationID, metric: name, aggregation: aggregation, periodEnd: record.currentPeriod?.end,
                at: date)
        }
    }

    /// Every live subscription's forecasts at `date` whose outlook is a limit expected or
    /// reached this period, by organization and metric: who is about to be blocked.
    public func flaggedForecasts(at date: Date) throws -> [UsageForecast] {
        try subscriptions().filter { $0.subscription.status.acceptsUsage }.flatMap { record in
            try forecasts(of: record.subscription.organizationID, at: date).filter { $0.outlook != .withinLimits }
        }
    }

    private func forecast(
        of organizationID: String, metric: String, aggregation: Metric.Aggregation, periodEnd: Date?, at date: Date
    ) throws -> UsageForecast {
        let today = UTCDay.number(of: date)
        let first = today - Self.forecastHistoryDays
        let isLevel: Bool
        switch aggregation {
        case .sum, .count: isLevel = false
        case .max, .latest, .uniqueCount: isLevel = true
        }
        var series = try dailySeries(
            of: organizationID, metric: metric, aggregation: aggregation, from: first, through: today)
        let todaySoFar = series.removeLast()
        let history = series
        let model = HoltForecast(history.map(Double.init))
        let status = try? quota(for: organizationID, metric: metric, at: date)
        let current = status?.usage ?? 0
        var result = UsageForecast(
            organizationID: organizationID, metric: metric, aggregation: aggregation, at: date, history: history,
            model: model,
            periodEnd: periodEnd, currentUsage: current, projectedUsage: current, softLimit: status?.softLimit,
            hardLimit: status?.hardLimit, forecast: [])
        guard let model, let periodEnd, periodEnd > date else { return result }
        // Today (what the trend expects of it beyond what already came) through the period's last day.
        let lastDay = UTCDay.number(of: periodEnd.addingTimeInterval(-1))
        result.forecast = (0...Int(lastDay - today)).map { offset in
            let expected = Int64(model.value(daysAhead: offset + 1).rounded())
            return offset == 0 && !isLevel ? max(0, expected - todaySoFar) : expected
        }
        var running = current
        for (offset, value) in result.forecast.enumerated() {
            switch aggregation {
            case .sum, .count: running += value
            // A period's maximum and its distinct members only grow: the trend can raise them, never lower them.
            case .max, .uniqueCount: running = max(running, value)
            case .latest: running = value
            }
            let day = Date(timeIntervalSince1970: TimeInterval(Int64(today) + Int64(offset)) * 86_400)
            if let soft = result.softLimit, running >= soft, result.softLimitDay == nil, current < soft {
                result.softLimitDay = day
            }
            if let hard = result.hardLimit, running >= hard, result.hardLimitDay == nil, current < hard {
                result.hardLimitDay = day
            }
        }
        result.projectedUsage = running
        return result
    }

    /// One value per UTC day from `first` through `last`: the day's sum, event count, maximum,
    /// latest value (carried over days without events) or distinct users.
    private func dailySeries(
        of organizationID: String, metric: String, aggregation: Metric.Aggregation, from first: Int32,
        through last: Int32
    ) throws -> [Int64] {
        var values = Array(repeating: Int64(0), count: Int(last - first + 1))
        let breakdown: UsageRollupsProjector.Breakdown
        if case .uniqueCount = aggregation { breakdown = .user } else { breakdown = .day }
        let cells = try projections.read(UsageRollupsProjector.name) {
            try UsageRollupsProjector.cells(
                organizationID, metric: metric, fromDay: first, toDay: last, by: breakdown, in: $0)
        }
        var seen = Array(repeating: false, count: values.count)
        for cell in cells {
            let index = Int(cell.day - first)
            seen[index] = true
            switch aggregation {
            case .sum: values[index] += cell.rollup.sum
            case .count: values[index] += cell.rollup.events
            case .max: values[index] = max(values[index], cell.rollup.maximum)
            case .latest: values[index] = cell.rollup.latest
            case .uniqueCount: values[index] += 1
            }
        }
        if case .latest = aggregation {
            for index in values.indices.dropFirst() where !seen[index] { values[index] = values[index - 1] }
        }
        return values
    }
}
