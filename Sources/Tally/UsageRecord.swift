public import Foundation

/// A quantity of a metric, as a service reports it to `Engine.recordUsage(_:)`.
public struct UsageRecord: Sendable, Hashable {
    public var organizationID: String
    public var metric: String
    public var quantity: Int64
    public var userID: String
    public var resourceID: String
    public var properties: [String: String]
    public var occurredAt: Date
    /// Strongly recommended: a retry with the same key is recognized and never counted twice.
    public var idempotencyKey: String?

    public init(
        organizationID: String, metric: String, quantity: Int64, userID: String = "", resourceID: String = "",
        properties: [String: String] = [:], occurredAt: Date, idempotencyKey: String? = nil
    ) {
        self.organizationID = organizationID
        self.metric = metric
        self.quantity = quantity
        self.userID = userID
        self.resourceID = resourceID
        self.properties = properties
        self.occurredAt = occurredAt
        self.idempotencyKey = idempotencyKey
    }
}

/// Where an organization stands on one metric in one period.
public struct QuotaStatus: Sendable, Hashable {
    public enum State: String, Sendable {
        case withinIncluded = "within_included"
        case overIncluded = "over_included"
        case softLimitReached = "soft_limit_reached"
        case hardLimitReached = "hard_limit_reached"
    }

    public var metric: String
    public var periodStart: Date
    public var usage: Int64
    public var included: Int64
    public var softLimit: Int64?
    public var hardLimit: Int64?

    public var state: State {
        if let hardLimit, usage >= hardLimit { return .hardLimitReached }
        if let softLimit, usage >= softLimit { return .softLimitReached }
        return usage > included ? .overIncluded : .withinIncluded
    }

    /// Whether `quantity` more would stay within the hard limit (for sums and counts).
    public func allows(_ quantity: Int64) -> Bool {
        guard let hardLimit else { return true }
        return usage + quantity <= hardLimit
    }
}
