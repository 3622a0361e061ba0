public import Billing
public import Foundation

/// One organization's churn-risk score at a moment, with the signals behind it.
public struct OrganizationRisk: Sendable, Hashable {
    public var organizationID: String
    public var planID: String
    /// The subscription's status as the API spells it (active, past_due, trialing, …).
    public var status: String
    /// Its MRR at that moment (zero while trialing or unpaid).
    public var mrr: Money?
    public var risk: ChurnRisk
    /// What the score was computed from.
    public var observations: ChurnRisk.Observations
    public var at: Date
}
