public import Payments

/// How the engine bills and collects: how long invoices wait for late usage, and how
/// dunning runs when a payment fails. Every step happens in `Engine.advance(to:)`.
public struct BillingPolicy: Sendable, Hashable {
    /// What happens when dunning ends without a payment.
    public enum DunningEnd: String, Sendable, Hashable {
        /// The subscription is canceled (reason nonpayment).
        case cancel
        /// The subscription is kept, unpaid: it stops renewing and takes no usage until a
        /// payment restores it (Stripe's "mark the subscription as unpaid").
        case markUnpaid = "mark_unpaid"
    }

    /// Seconds a closed period's invoice stays a draft, so usage that arrives late still lands
    /// on it; usage later than that is billed on the next invoice as a late-usage line.
    /// Default: one hour, as Stripe waits before finalizing a subscription's invoice.
    public var lateUsageGraceSeconds: Int64
    /// When a failed payment is tried again (default 3, 5 and 7 days after the first failure).
    public var retrySchedule: RetrySchedule
    /// Days of grace after the last retry fails, before dunning ends (0: it ends at once).
    public var graceDays: Int
    public var whenDunningEnds: DunningEnd

    public static let `default` = BillingPolicy()

    public init(
        lateUsageGraceSeconds: Int64 = 3_600, retrySchedule: RetrySchedule = .default, graceDays: Int = 3,
        whenDunningEnds: DunningEnd = .cancel
    ) {
        self.lateUsageGraceSeconds = lateUsageGraceSeconds
        self.retrySchedule = retrySchedule
        self.graceDays = graceDays
        self.whenDunningEnds = whenDunningEnds
    }

    /// Throws naming the field and the rule when a setting is out of range.
    public func validate() throws(EngineError) {
        guard (0...(31 * 86_400)).contains(lateUsageGraceSeconds) else {
            throw .invalid(
                field: "late_usage_grace_seconds",
                rule: "must be from 0 to 31 days (2678400), got \(lateUsageGraceSeconds)")
        }
        guard (0...90).contains(graceDays) else {
            throw .invalid(field: "grace_days", rule: "must be from 0 to 90, got \(graceDays)")
        }
        guard retrySchedule.delaysInDays.allSatisfy({ $0 > 0 }),
            retrySchedule.delaysInDays == retrySchedule.delaysInDays.sorted(),
            Set(retrySchedule.delaysInDays).count == retrySchedule.delaysInDays.count
        else {
            throw .invalid(
                field: "retry_schedule", rule: "days must be positive and increasing, got \(retrySchedule.delaysInDays)"
            )
        }
    }
}
