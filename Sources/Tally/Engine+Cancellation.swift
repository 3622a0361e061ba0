import Billing
import BillingEvents
import EventLog
public import Foundation
import LMDB
public import ReadModels
import SwiftProtobuf

extension Engine {
    /// Cancels an organization's subscription: at the end of the current period by default
    /// (it can be reactivated until then), or now. Canceling something already canceled, or
    /// scheduling a cancellation twice, is refused with the state named.
    @discardableResult
    public func cancelSubscription(_ organizationID: String, at date: Date, immediately: Bool = false) async throws
        -> SubscriptionRecord
    {
        try await transition(organizationID, at: date) { record throws(BillingError) in
            var candidate = record.subscription
            if immediately {
                try candidate.cancelNow(at: date)
                return (
                    .subscriptionCanceled,
                    Tally_V1_SubscriptionCanceled.with {
                        $0.subscriptionID = record.id
                        $0.effectiveAt = Google_Protobuf_Timestamp(date: date)
                        $0.reason = .requested
                    }
                )
            }
            try candidate.scheduleCancellation()
            let end = record.subscription.billingPeriod(at: date)?.end ?? date
            return (
                .cancellationScheduled,
                Tally_V1_CancellationScheduled.with {
                    $0.subscriptionID = record.id
                    $0.effectiveAt = Google_Protobuf_Timestamp(date: end)
                }
            )
        }
    }

    /// Takes back a cancellation scheduled for the period's end.
    @discardableResult
    public func reactivateSubscription(_ organizationID: String, at date: Date) async throws -> SubscriptionRecord {
        try await transition(organizationID, at: date) { record throws(BillingError) in
            var candidate = record.subscription
            try candidate.reactivate()
            return (.subscriptionReactivated, Tally_V1_SubscriptionReactivated.with { $0.subscriptionID = record.id })
        }
    }

    /// Decides one subscription event from the current record, inside the append; the state
    /// machine's refusals become `EngineError.conflict` naming the state.
    func transition(
        _ organizationID: String, at date: Date, idempotencyKey: String? = nil,
        _ decide:
            @escaping @Sendable (SubscriptionRecord) throws(BillingError) -> (
                BillingEventType, any SwiftProtobuf.Message
            )
    ) async throws -> SubscriptionRecord {
        let projections = projections
        _ = try await log.append { decision in
            let subscriptions = try projections.reader(SubscriptionsProjector.name, in: decision.transaction)
            guard let record = try SubscriptionsProjector.current(of: organizationID, in: subscriptions) else {
                throw EngineError.notFound("subscription of \(organizationID)")
            }
            let decided: (BillingEventType, any SwiftProtobuf.Message)
            do throws(BillingError) {
                decided = try decide(record)
            } catch {
                if case .illegalTransition = error { throw EngineError.conflict(error.description) }
                throw EngineError.invalid(field: Self.field(of: error), rule: Self.rule(of: error))
            }
            return [
                EventDraft(
                    organizationID: organizationID, eventType: decided.0.rawValue, occurredAt: date,
                    idempotencyKey: idempotencyKey,
                    payload: try decided.1.deterministicData())
            ]
        }
        return try existingSubscription(of: organizationID)
    }
}
