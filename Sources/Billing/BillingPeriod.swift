public import Foundation

/// A half-open span of time `[start, end)` that one recurring charge covers.
public struct BillingPeriod: Sendable, Hashable, Codable, CustomStringConvertible {
    public let start: Date
    public let end: Date

    public init(start: Date, end: Date) throws(BillingError) {
        guard start < end else {
            throw .invalid(field: "period", rule: "must end after it starts (\(start) to \(end))")
        }
        self.start = start
        self.end = end
    }

    /// Whole seconds from start to end: the denominator of proration.
    public var seconds: Int64 { BillingPeriod.wholeSeconds(from: start, to: end) }

    public func contains(_ date: Date) -> Bool { start <= date && date < end }

    public var description: String { "\(start.formatted(.iso8601)) to \(end.formatted(.iso8601))" }

    /// Whole seconds between two instants, counting from their second boundaries, so that
    /// sub-second noise in timestamps never changes an amount.
    static func wholeSeconds(from start: Date, to end: Date) -> Int64 {
        Int64(end.timeIntervalSince1970.rounded(.down)) - Int64(start.timeIntervalSince1970.rounded(.down))
    }
}
