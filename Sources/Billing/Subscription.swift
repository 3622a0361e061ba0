public import Foundation

/// One organization's subscription to a plan, and the only ways it may change.
///
/// ```text
/// trialing ──trial converts──▶ active ──payment fails──▶ past_due ──retries exhausted──▶ grace
///    │                          ▲  ▲                        │                              │
///    └─trial lapses─▶ expired   │  └────payment succeeds────┴──────────────────────────────┤
///                               └─ renew (each period)      grace ends ▶ canceled or unpaid ◀┘
/// unpaid ──payment succeeds──▶ active (renewals catch up);  unpaid stops renewing meanwhile
/// any live state ──cancel now──▶ canceled;  schedule cancellation ⇄ reactivate (before the end)
/// ```
///
/// Every method either applies its transition or throws `BillingError.illegalTransition`
/// naming the action and the current status, changing nothing. The engine turns each
/// applied transition into an event; projections replay them through the same methods.
public struct Subscription: Sendable, Hashable, Codable {
    public enum Status: Sendable, Hashable, Codable {
        case trialing(endsAt: Date)
        case active
        case pastDue(since: Date)
        case grace(since: Date, until: Date)
        /// Dunning gave up and the seller chose to keep the subscription, unpaid: it stops
        /// renewing and takes no usage until a payment restores it.
        case unpaid(since: Date)
        case canceled(at: Date)
        case expired(at: Date)

        /// The status as the API spells it: trialing, active, past_due, grace, unpaid, canceled, expired.
        public var name: String {
            switch self {
            case .trialing: "trialing"
            case .active: "active"
            case .pastDue: "past_due"
            case .grace: "grace"
            case .unpaid: "unpaid"
            case .canceled: "canceled"
            case .expired: "expired"
            }
        }

        /// Usage is metered: live and not unpaid.
        public var acceptsUsage: Bool {
            switch self {
            case .unpaid: false
            default: isLive
            }
        }

        /// Still a subscription the customer has (not canceled or expired).
        public var isLive: Bool {
            switch self {
            case .canceled, .expired: false
            default: true
            }
        }
    }

    /// A plan change waiting for the end of the current period (a downgrade, by default).
    public struct ScheduledChange: Sendable, Hashable, Codable {
        public var planID: String
        public var interval: BillingInterval
    }

    public let organizationID: String
    public private(set) var planID: String
    public private(set) var interval: BillingInterval
    /// Periods run from this anchor: the activation, or the end of the trial.
    public private(set) var schedule: BillingSchedule
    public private(set) var status: Status
    public private(set) var cancelsAtPeriodEnd: Bool
    public private(set) var scheduledChange: ScheduledChange?

    /// A new subscription at `date`: trialing for `trialDays` when there are any, else active,
    /// with billing periods anchored at the trial's end or at `date`.
    public init(organizationID: String, planID: String, interval: BillingInterval, startedAt date: Date, trialDays: Int)
        throws(BillingError)
    {
        guard (0...365).contains(trialDays) else {
            throw .invalid(field: "trial_days", rule: "must be from 0 to 365, got \(trialDays)")
        }
        let trialEnd = date.addingTimeInterval(TimeInterval(trialDays) * 86_400)
        if trialDays > 0 {
            try self.init(organizationID: organizationID, planID: planID, interval: interval, trialEndsAt: trialEnd)
        } else {
            try self.init(organizationID: organizationID, planID: planID, interval: interval, activeFrom: date)
        }
    }

    /// A subscription in trial until `trialEnd`, when its billing periods will begin: how a
    /// replay rebuilds it from the stored trial end.
    public init(organizationID: String, planID: String, interval: BillingInterval, trialEndsAt trialEnd: Date)
        throws(BillingError)
    {
        try self.init(
            organizationID: organizationID, planID: planID, interval: interval, anchor: trialEnd,
            status: .trialing(endsAt: trialEnd))
    }

    /// An active subscription whose billing periods run from `anchor`.
    public init(organizationID: String, planID: String, interval: BillingInterval, activeFrom anchor: Date)
        throws(BillingError)
    {
        try self.init(
            organizationID: organizationID, planID: planID, interval: interval, anchor: anchor, status: .active)
    }

    private init(organizationID: String, planID: String, interval: BillingInterval, anchor: Date, status: Status)
        throws(BillingError)
    {
        self.organizationID = organizationID
        self.planID = planID
        self.interval = interval
        self.schedule = try BillingSchedule(anchor: anchor, interval: interval)
        self.status = status
        self.cancelsAtPeriodEnd = false
    }

    /// The period being billed at `date`, or nil while trialing or once the subscription ended.
    public func billingPeriod(at date: Date) -> BillingPeriod? {
        switch status {
        case .active, .pastDue, .grace: schedule.period(containing: date)
        case .trialing, .unpaid, .canceled, .expired: nil
        }
    }

    // MARK: Trial

    /// The trial ended and the customer pays: active, periods anchored at the trial's end.
    public mutating func convertTrial() throws(BillingError) {
        guard case .trialing = status else { throw illegal("convert the trial of") }
        status = .active
    }

    /// The trial ended without a payment method: expired.
    public mutating func expireTrial(at date: Date) throws(BillingError) {
        guard case .trialing = status else { throw illegal("expire the trial of") }
        end(as: .expired(at: date))
    }

    // MARK: Payments

    public mutating func markPastDue(at date: Date) throws(BillingError) {
        guard case .active = status else { throw illegal("mark past due") }
        status = .pastDue(since: date)
    }

    public mutating func startGrace(until end: Date) throws(BillingError) {
        guard case .pastDue(let since) = status else { throw illegal("start a grace period for") }
        guard end > since else {
            throw .invalid(field: "grace_until", rule: "must be after the subscription became past due")
        }
        status = .grace(since: since, until: end)
    }

    /// A payment succeeded while past due, in grace or unpaid: active again.
    public mutating func recoverPayment() throws(BillingError) {
        switch status {
        case .pastDue, .grace, .unpaid: status = .active
        default: throw illegal("recover the payment of")
        }
    }

    /// The grace period ran out unpaid: canceled.
    public mutating func endGrace(at date: Date) throws(BillingError) {
        guard case .grace = status else { throw illegal("end the grace period of") }
        end(as: .canceled(at: date))
    }

    /// Dunning ran out (retries exhausted, grace over) and the seller keeps the subscription
    /// unpaid instead of canceling it. A scheduled cancellation still stands.
    public mutating func markUnpaid(at date: Date) throws(BillingError) {
        switch status {
        case .pastDue, .grace: status = .unpaid(since: date)
        default: throw illegal("mark unpaid")
        }
    }

    // MARK: Cancellation

    public mutating func cancelNow(at date: Date) throws(BillingError) {
        guard status.isLive else { throw illegal("cancel") }
        end(as: .canceled(at: date))
    }

    public mutating func scheduleCancellation() throws(BillingError) {
        guard status.isLive, !cancelsAtPeriodEnd else {
            throw illegal("schedule the cancellation of", cancelsAtPeriodEnd ? "already canceling at period end" : nil)
        }
        cancelsAtPeriodEnd = true
    }

    /// Takes back a scheduled cancellation, before the period ends.
    public mutating func reactivate() throws(BillingError) {
        guard status.isLive, cancelsAtPeriodEnd else {
            throw illegal("reactivate", status.isLive ? "\(status.name) with no cancellation scheduled" : nil)
        }
        cancelsAtPeriodEnd = false
    }

    // MARK: Periods and plan changes

    /// The period ended at `date`: a scheduled cancellation takes effect, else a scheduled
    /// plan change does and the next period begins.
    public mutating func renew(at date: Date) throws(BillingError) {
        switch status {
        case .active, .pastDue, .grace: break
        case .unpaid where cancelsAtPeriodEnd: break
        default: throw illegal("renew")
        }
        if cancelsAtPeriodEnd {
            end(as: .canceled(at: date))
            return
        }
        if let change = scheduledChange {
            try apply(planID: change.planID, interval: change.interval, at: date)
            scheduledChange = nil
        }
    }

    /// Switches plan now (an upgrade; proration is the caller's, with `Proration`).
    /// Clears any scheduled change: the latest decision wins.
    public mutating func changePlanNow(to planID: String, interval: BillingInterval, at date: Date) throws(BillingError)
    {
        switch status {
        case .active, .trialing: break
        default: throw illegal("change the plan of")
        }
        try apply(planID: planID, interval: interval, at: date)
        scheduledChange = nil
    }

    /// Switches plan when the current period ends (a downgrade, by default), replacing any
    /// earlier scheduled change.
    public mutating func schedulePlanChange(to planID: String, interval: BillingInterval) throws(BillingError) {
        switch status {
        case .active, .trialing: break
        default: throw illegal("schedule a plan change for")
        }
        try interval.validate()
        scheduledChange = ScheduledChange(planID: planID, interval: interval)
    }

    private mutating func apply(planID: String, interval: BillingInterval, at date: Date) throws(BillingError) {
        if interval != self.interval, case .trialing = status {
            self.interval = interval
            schedule = try BillingSchedule(anchor: schedule.anchor, interval: interval)
        } else if interval != self.interval {
            // A new billing cycle length starts a new anchor, as Stripe resets it.
            self.interval = interval
            schedule = try BillingSchedule(anchor: date, interval: interval)
        }
        self.planID = planID
    }

    /// Ends the subscription: nothing is scheduled for an ended one.
    private mutating func end(as final: Status) {
        status = final
        scheduledChange = nil
        cancelsAtPeriodEnd = false
    }

    private func illegal(_ action: String, _ detail: String? = nil) -> BillingError {
        .illegalTransition(action: action, status: detail ?? status.name)
    }
}
