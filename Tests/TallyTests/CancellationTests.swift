import Billing
import EventLog
import Foundation
import ReadModels
import Tally
import TallyTestSupport
import Testing

@Suite("Engine: cancellation and reactivation")
struct CancellationTests {
    @Test("cancel at period end, then reactivate before it: the subscription is as before")
    func cancelThenReactivate() async throws {
        let directory = TemporaryDirectory()
        let engine = try await PlanChangeTests.engine(directory, on: "growth")
        let canceling = try await engine.cancelSubscription("org_p", at: PlanChangeTests.january16)
        #expect(canceling.subscription.cancelsAtPeriodEnd)
        #expect(canceling.subscription.status == .active)
        await #expect(
            throws: EngineError.conflict(
                "cannot schedule the cancellation of a subscription that is already canceling at period end")
        ) {
            try await engine.cancelSubscription("org_p", at: PlanChangeTests.january16)
        }
        let reactivated = try await engine.reactivateSubscription(
            "org_p", at: PlanChangeTests.january16.addingTimeInterval(60))
        #expect(!reactivated.subscription.cancelsAtPeriodEnd)
        await #expect(
            throws: EngineError.conflict(
                "cannot reactivate a subscription that is active with no cancellation scheduled")
        ) {
            try await engine.reactivateSubscription("org_p", at: PlanChangeTests.january16)
        }
    }

    @Test("an immediate cancellation ends the subscription: no usage, no plan change, a new subscription is allowed")
    func cancelNow() async throws {
        let directory = TemporaryDirectory()
        let engine = try await PlanChangeTests.engine(directory, on: "growth")
        let canceled = try await engine.cancelSubscription("org_p", at: PlanChangeTests.january16, immediately: true)
        #expect(canceled.subscription.status == .canceled(at: PlanChangeTests.january16))
        await #expect(throws: EngineError.conflict("the subscription of org_p is canceled: usage is not accepted")) {
            try await engine.recordUsage(
                UsageRecord(
                    organizationID: "org_p", metric: "api_calls", quantity: 1, occurredAt: PlanChangeTests.january16))
        }
        await #expect(throws: EngineError.conflict("cannot cancel a subscription that is canceled")) {
            try await engine.cancelSubscription("org_p", at: PlanChangeTests.january16, immediately: true)
        }
        let again = try await engine.subscribe(
            "org_p", to: "starter", interval: .monthly, at: PlanChangeTests.january16.addingTimeInterval(60))
        #expect(again.subscription.status == .active && again.subscription.planID == "starter")
    }
}
