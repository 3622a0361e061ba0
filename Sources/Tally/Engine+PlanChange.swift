public import Billing
import BillingEvents
import EventLog
public import Foundation
import LMDB
public import ReadModels
import SwiftProtobuf

extension Engine {
    /// Moves an organization's subscription to another plan.
    ///
    /// An upgrade (a higher monthly-equivalent price) applies now and is prorated to the
    /// second: a credit for the unused time at the old price and a charge for the rest of the
    /// period at the new one, both stored in the event. A downgrade is scheduled for the end of
    /// the period, unless `immediately` is true (then it is prorated the same way). During a
    /// trial a change applies now and costs nothing. A change of billing interval starts a new
    /// period now: the unused old time is credited and the new interval's full price charged.
    @discardableResult
    public func changePlan(
        _ organizationID: String, to planID: String, interval: BillingInterval, at date: Date,
        immediately: Bool = false, idempotencyKey: String? = nil
    ) async throws -> SubscriptionRecord {
        let projections = projections
        _ = try await log.append { decision in
            if let key = idempotencyKey,
                try decision.sequence(ofIdempotencyKey: key, organizationID: organizationID) != nil
            {
                return []  // a retry of a change already made
            }
            let subscriptions = try projections.reader(SubscriptionsProjector.name, in: decision.transaction)
            guard let record = try SubscriptionsProjector.current(of: organizationID, in: subscriptions) else {
                throw EngineError.notFound("subscription of \(organizationID)")
            }
            let catalog = try projections.reader(CatalogProjector.name, in: decision.transaction)
            guard let entry = try CatalogProjector.plan(planID, in: catalog) else {
                throw EngineError.notFound("plan \(planID)")
            }
            guard !entry.isArchived else {
                throw EngineError.conflict("plan \(planID) is archived and takes no new subscriptions")
            }
            guard let oldPlan = try CatalogProjector.plan(record.subscription.planID, in: catalog)?.plan else {
                throw EngineError.notFound("plan \(record.subscription.planID)")
            }
            let newPlan = entry.plan
            guard newPlan.currency == oldPlan.currency else {
                throw EngineError.invalid(
                    field: "plan_id",
                    rule: "plan \(planID) is priced in \(newPlan.currency), the subscription in \(oldPlan.currency)")
            }
            let newPrice = try Self.recurringPrice(
                of: newPlan, interval: interval, for: organizationID, at: date, catalog: catalog)
            let isTrial: Bool
            if case .trialing = record.subscription.status { isTrial = true } else { isTrial = false }
            let oldPrice = record.recurringPrice ?? .zero(newPrice.currency)
            let isUpgrade = Self.costsMore(newPrice, per: interval, than: oldPrice, per: record.subscription.interval)
            let applyNow = isTrial || isUpgrade || immediately || interval != record.subscription.interval

            // The state machine decides what is legal; try it on a copy first.
            var candidate = record.subscription
            var credit = Money.zero(newPrice.currency)
            var charge = Money.zero(newPrice.currency)
            var effectiveAt = date
            do throws(BillingError) {
                if applyNow {
                    if !isTrial, let period = record.subscription.billingPeriod(at: date) {
                        let proration = try Proration(
                            oldPrice: oldPrice, newPrice: newPrice, period: period, changedAt: date)
                        credit = proration.credit
                        charge = interval == record.subscription.interval ? proration.charge : newPrice
                    }
                    try candidate.changePlanNow(to: planID, interval: interval, at: date)
                } else {
                    try candidate.schedulePlanChange(to: planID, interval: interval)
                    effectiveAt = record.subscription.billingPeriod(at: date)?.end ?? date
                }
            } catch {
                if case .illegalTransition = error { throw EngineError.conflict(error.description) }
                throw EngineError.invalid(field: Self.field(of: error), rule: Self.rule(of: error))
            }
            let payload = Tally_V1_PlanChanged.with {
                $0.subscriptionID = record.id
                $0.fromPlanID = record.subscription.planID
                $0.toPlanID = planID
                $0.interval = Tally_V1_Interval(interval)
                $0.effectiveAt = Google_Protobuf_Timestamp(date: effectiveAt)
                $0.immediate = applyNow
                $0.prorationCredit = Tally_V1_Money(credit)
                $0.prorationCharge = Tally_V1_Money(charge)
                $0.recurringPrice = Tally_V1_Money(newPrice)
            }
            return [
                EventDraft(
                    organizationID: organizationID, eventType: BillingEventType.planChanged.rawValue, occurredAt: date,
                    idempotencyKey: idempotencyKey, payload: try payload.deterministicData())
            ]
        }
        return try existingSubscription(of: organizationID)
    }

    /// Whether `a` per `aInterval` costs more per month than `b` per `bInterval`, compared
    /// exactly by cross-multiplying: a / aMonths > b / bMonths ⇔ a × bMonths > b × aMonths.
    static func costsMore(_ a: Money, per aInterval: BillingInterval, than b: Money, per bInterval: BillingInterval)
        -> Bool
    {
        Int128(a.minorUnits) * Int128(bInterval.months) > Int128(b.minorUnits) * Int128(aInterval.months)
    }
}
