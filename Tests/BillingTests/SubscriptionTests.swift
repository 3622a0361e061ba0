import Billing
import Foundation
import Testing

@Suite("The subscription state machine")
struct SubscriptionTests {
    static let start = BillingScheduleTests.date("2025-01-20T09:00:00Z")

    func trialing() throws -> Subscription {
        try Subscription(
            organizationID: "org_1", planID: "professional", interval: .monthly, startedAt: Self.start, trialDays: 14)
    }

    func active() throws -> Subscription {
        try Subscription(
            organizationID: "org_1", planID: "professional", interval: .monthly, startedAt: Self.start, trialDays: 0)
    }

    @Test("a trial that crosses a period boundary: billing periods start when the trial ends")
    func trialAcrossBoundary() throws {
        var subscription = try trialing()
        #expect(subscription.status == .trialing(endsAt: BillingScheduleTests.date("2025-02-03T09:00:00Z")))
        #expect(
            subscription.billingPeriod(at: BillingScheduleTests.date("2025-02-01T00:00:00Z")) == nil,
            "no billing while trialing")
        try subscription.convertTrial()
        let first = try #require(subscription.billingPeriod(at: BillingScheduleTests.date("2025-02-03T09:00:00Z")))
        #expect(first.start == BillingScheduleTests.date("2025-02-03T09:00:00Z"))
        #expect(first.end == BillingScheduleTests.date("2025-03-03T09:00:00Z"))
    }

    @Test("a trial that lapses expires, and an expired subscription cannot convert")
    func trialExpires() throws {
        var subscription = try trialing()
        try subscription.expireTrial(at: BillingScheduleTests.date("2025-02-03T09:00:00Z"))
        #expect(subscription.status.name == "expired")
        #expect(throws: BillingError.illegalTransition(action: "convert the trial of", status: "expired")) {
            try subscription.convertTrial()
        }
    }

    @Test("failed payment: past due, then grace, then canceled when grace runs out")
    func dunningPath() throws {
        var subscription = try active()
        let failedAt = BillingScheduleTests.date("2025-02-20T09:00:00Z")
        try subscription.markPastDue(at: failedAt)
        try subscription.startGrace(until: failedAt.addingTimeInterval(7 * 86_400))
        #expect(subscription.status.name == "grace")
        #expect(subscription.billingPeriod(at: failedAt) != nil, "periods continue while past due")
        try subscription.endGrace(at: failedAt.addingTimeInterval(7 * 86_400))
        #expect(subscription.status == .canceled(at: failedAt.addingTimeInterval(7 * 86_400)))
        #expect(throws: BillingError.illegalTransition(action: "recover the payment of", status: "canceled")) {
            try subscription.recoverPayment()
        }
    }

    @Test("a payment that succeeds while past due or in grace restores the subscription")
    func recovery() throws {
        var subscription = try active()
        try subscription.markPastDue(at: Self.start)
        try subscription.recoverPayment()
        #expect(subscription.status == .active)
        try subscription.markPastDue(at: Self.start)
        try subscription.startGrace(until: Self.start.addingTimeInterval(86_400))
        try subscription.recoverPayment()
        #expect(subscription.status == .active)
    }

    @Test("cancel at period end, then reactivate before the end: it renews as if nothing happened")
    func cancelThenReactivate() throws {
        var subscription = try active()
        try subscription.scheduleCancellation()
        #expect(subscription.cancelsAtPeriodEnd)
        #expect(
            throws: BillingError.illegalTransition(
                action: "schedule the cancellation of", status: "already canceling at period end")
        ) {
            try subscription.scheduleCancellation()
        }
        try subscription.reactivate()
        try subscription.renew(at: BillingScheduleTests.date("2025-02-20T09:00:00Z"))
        #expect(subscription.status == .active)
        #expect(
            throws: BillingError.illegalTransition(
                action: "reactivate", status: "active with no cancellation scheduled")
        ) {
            try subscription.reactivate()
        }
    }

    @Test("a scheduled cancellation takes effect at renewal; an immediate one at once")
    func cancellations() throws {
        var subscription = try active()
        try subscription.scheduleCancellation()
        let periodEnd = BillingScheduleTests.date("2025-02-20T09:00:00Z")
        try subscription.renew(at: periodEnd)
        #expect(subscription.status == .canceled(at: periodEnd))
        #expect(subscription.billingPeriod(at: periodEnd) == nil, "a canceled subscription has no period")
        #expect(throws: BillingError.illegalTransition(action: "renew", status: "canceled")) {
            try subscription.renew(at: periodEnd)
        }

        var other = try trialing()
        try other.cancelNow(at: Self.start)
        #expect(other.status.name == "canceled")
        #expect(throws: BillingError.illegalTransition(action: "cancel", status: "canceled")) {
            try other.cancelNow(at: Self.start)
        }
    }

    @Test("a downgrade then an upgrade in the same period: the upgrade applies now and the downgrade is dropped")
    func downgradeThenUpgrade() throws {
        var subscription = try active()
        try subscription.schedulePlanChange(to: "free", interval: .monthly)
        #expect(subscription.scheduledChange?.planID == "free")
        try subscription.changePlanNow(
            to: "enterprise", interval: .monthly, at: BillingScheduleTests.date("2025-02-01T00:00:00Z"))
        #expect(subscription.planID == "enterprise")
        #expect(subscription.scheduledChange == nil)
        try subscription.renew(at: BillingScheduleTests.date("2025-02-20T09:00:00Z"))
        #expect(subscription.planID == "enterprise")
    }

    @Test("a scheduled downgrade applies at renewal; an interval change re-anchors the periods")
    func scheduledDowngrade() throws {
        var subscription = try active()
        try subscription.schedulePlanChange(to: "free", interval: .monthly)
        try subscription.renew(at: BillingScheduleTests.date("2025-02-20T09:00:00Z"))
        #expect(subscription.planID == "free")
        let switchedAt = BillingScheduleTests.date("2025-03-05T00:00:00Z")
        try subscription.changePlanNow(to: "professional", interval: .annual, at: switchedAt)
        #expect(subscription.schedule.anchor == switchedAt)
        #expect(subscription.billingPeriod(at: switchedAt)?.end == BillingScheduleTests.date("2026-03-05T00:00:00Z"))
    }

    @Test("plan changes are refused while past due, naming the state")
    func noChangeWhilePastDue() throws {
        var subscription = try active()
        try subscription.markPastDue(at: Self.start)
        #expect(throws: BillingError.illegalTransition(action: "change the plan of", status: "past_due")) {
            try subscription.changePlanNow(to: "enterprise", interval: .monthly, at: Self.start)
        }
        #expect(throws: BillingError.illegalTransition(action: "mark past due", status: "past_due")) {
            try subscription.markPastDue(at: Self.start)
        }
    }
}
