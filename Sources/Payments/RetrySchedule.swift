public import Foundation

/// When a failed payment is tried again, counted from the first failed attempt: by default
/// 3, 5 and 7 days after it, then no more (the retries are exhausted).
public struct RetrySchedule: Sendable, Hashable, Codable {
    public var delaysInDays: [Int]

    public static let `default` = RetrySchedule(delaysInDays: [3, 5, 7])

    public init(delaysInDays: [Int]) {
        self.delaysInDays = delaysInDays
    }

    /// When to try again after `failures` failed attempts, the first of them at `firstFailure`;
    /// nil when the retries are exhausted.
    public func nextAttempt(afterFailures failures: Int, firstFailure: Date) -> Date? {
        guard failures >= 1, failures <= delaysInDays.count else { return nil }
        return firstFailure.addingTimeInterval(TimeInterval(delaysInDays[failures - 1]) * 86_400)
    }
}
