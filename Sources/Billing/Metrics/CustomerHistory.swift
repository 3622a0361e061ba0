/// One organization as revenue analytics sees it: when it signed up, what each of its
/// subscriptions brings in a month, every MRR movement it made and every trial it ran. The
/// `mrr` read model keeps one per organization; cohorts, retention and trial conversion are
/// computed from them.
public struct CustomerHistory: Sendable, Hashable, Codable {
    /// An MRR movement on a UTC day (days since 1970-01-01), and the event type that made it.
    public struct DatedMovement: Sendable, Hashable, Codable {
        public var day: Int32
        public var movement: MRRMovement
        /// The event type that caused it ("subscription.plan_changed", "subscription.discount_applied", …).
        public var cause: String

        public init(day: Int32, movement: MRRMovement, cause: String) {
            self.day = day
            self.movement = movement
            self.cause = cause
        }
    }

    /// A trial and how it ended.
    public struct Trial: Sendable, Hashable, Codable {
        public enum Outcome: String, Sendable, Hashable, Codable {
            case trialing, converted, expired, canceled
        }

        public var subscriptionID: String
        public var startDay: Int32
        public var outcome: Outcome
        public var endDay: Int32?

        public init(subscriptionID: String, startDay: Int32, outcome: Outcome = .trialing, endDay: Int32? = nil) {
            self.subscriptionID = subscriptionID
            self.startDay = startDay
            self.outcome = outcome
            self.endDay = endDay
        }
    }

    public var organizationID: String
    /// The day the organization registered: its signup cohort.
    public var signupDay: Int32?
    /// The currency of its recurring revenue (ISO 4217), once it has any.
    public var currency: String?
    /// Monthly recurring revenue per live, paying subscription (minor units, normalized).
    public var contributions: [String: Int64] = [:]
    public var movements: [DatedMovement] = []
    public var trials: [Trial] = []

    public init(organizationID: String) {
        self.organizationID = organizationID
    }

    /// Its MRR now: the sum over its subscriptions.
    public var mrr: Int64 { contributions.values.reduce(0, +) }

    /// It has paid at some point (its first movement is new business).
    public var hasPaid: Bool { !movements.isEmpty }

    /// The day it first paid, if it has.
    public var firstPaidDay: Int32? { movements.first?.day }

    /// Its MRR at the end of UTC day `day`.
    public func mrr(atEndOfDay day: Int32) -> Int64 {
        movements.reduce(0) { $1.day <= day ? $0 + $1.movement.amount : $0 }
    }

    /// Sets one subscription's monthly contribution and returns the movement that makes, if
    /// any, recorded on `day`.
    @discardableResult
    public mutating func setContribution(_ amount: Int64, of subscriptionID: String, on day: Int32, cause: String)
        -> MRRMovement?
    {
        let before = mrr
        if amount == 0 { contributions[subscriptionID] = nil } else { contributions[subscriptionID] = amount }
        guard let movement = MRRMovement.between(before, mrr, hasPaidBefore: hasPaid) else { return nil }
        movements.append(DatedMovement(day: day, movement: movement, cause: cause))
        return movement
    }
}
