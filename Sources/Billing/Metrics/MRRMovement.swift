/// One change in an organization's monthly recurring revenue, classified as ChartMogul does
/// (docs/METRICS.md): the five kinds add up, day by day, exactly to the change in MRR.
public struct MRRMovement: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Hashable, Codable, CaseIterable {
        /// A customer pays for the first time.
        case newBusiness = "new_business"
        /// A paying customer pays more: an upgrade, another subscription, a discount ending.
        case expansion
        /// A paying customer pays less, but still pays: a downgrade, one of two subscriptions
        /// ending, a discount added.
        case contraction
        /// A customer's last paying subscription ends.
        case churn
        /// A customer who had churned pays again.
        case reactivation
    }

    public var kind: Kind
    /// Minor units the MRR moved by: positive for new business, expansion and reactivation,
    /// negative for contraction and churn.
    public var amount: Int64

    public init(kind: Kind, amount: Int64) {
        self.kind = kind
        self.amount = amount
    }

    /// The movement that takes one organization's MRR from `old` to `new` (both in minor
    /// units, never negative), or nil when it does not move. `hasPaidBefore` tells new
    /// business from reactivation.
    public static func between(_ old: Int64, _ new: Int64, hasPaidBefore: Bool) -> MRRMovement? {
        guard old != new else { return nil }
        let delta = new - old
        if old == 0 { return MRRMovement(kind: hasPaidBefore ? .reactivation : .newBusiness, amount: delta) }
        if new == 0 { return MRRMovement(kind: .churn, amount: delta) }
        return MRRMovement(kind: delta > 0 ? .expansion : .contraction, amount: delta)
    }

    /// A recurring price as monthly revenue: the price over the interval's months, rounded
    /// half up to the minor unit (an annual 1,000.00 is 83.33 a month; ARR is then 999.96).
    public static func monthly(_ price: Money, every interval: BillingInterval) throws(BillingError) -> Money {
        try price.scaled(by: 1, over: Int64(interval.months), .halfUp)
    }
}
