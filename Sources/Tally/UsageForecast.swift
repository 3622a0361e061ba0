public import Billing
public import Foundation

/// Where one organization's use of one metric is heading: Holt's linear trend over its daily
/// usage, projected to the end of the current billing period and set against its limits.
public struct UsageForecast: Sendable, Hashable {
    public enum Outlook: String, Sendable, CaseIterable {
        case withinLimits = "within_limits"
        case softLimitExpected = "soft_limit_expected"
        case hardLimitExpected = "hard_limit_expected"
        case hardLimitReached = "hard_limit_reached"
    }

    public var organizationID: String
    public var metric: String
    public var aggregation: Metric.Aggregation
    public var at: Date
    /// The daily series the model was fitted on (complete UTC days before `at`, oldest first).
    public var history: [Int64]
    /// Nil when the series is too short to fit.
    public var model: HoltForecast?
    /// The billing period the projection ends with; nil without a current period.
    public var periodEnd: Date?
    public var currentUsage: Int64
    /// The period's usage as the trend expects it at the period's end.
    public var projectedUsage: Int64
    public var softLimit: Int64?
    public var hardLimit: Int64?
    /// The UTC day the trend crosses each limit, when it does before the period ends.
    public var softLimitDay: Date?
    public var hardLimitDay: Date?
    /// Per remaining day of the period, from today: what the trend adds that day (for today,
    /// beyond the usage already recorded), or the level it expects for levels.
    public var forecast: [Int64]

    public var outlook: Outlook {
        if let hardLimit, currentUsage >= hardLimit { return .hardLimitReached }
        if let hardLimit, projectedUsage >= hardLimit { return .hardLimitExpected }
        if let softLimit, projectedUsage >= softLimit { return .softLimitExpected }
        return .withinLimits
    }
}
