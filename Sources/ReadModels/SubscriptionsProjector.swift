public import Billing
import BillingEvents
public import EventLog
public import Foundation
public import LMDB
public import Projections
import SwiftProtobuf

/// The current subscription of each organization, replayed through the domain's state
/// machine (`Billing.Subscription`), so the read model can only hold states the machine allows.
///
/// | database | key | value |
/// | --- | --- | --- |
/// | `current` | organization id | `SubscriptionRecord` as JSON with sorted keys (deterministic) |
/// | `due` | when (8 bytes: big-endian ns since 1970, sign bit flipped), organization id | empty: the next time-driven change of each live subscription, in time order, for `Engine.advance(to:)` |
///
/// An event the state machine refuses aborts its commit: the log never accepts a transition
/// its own read model cannot follow. (The engine checks first, so this guards only against
/// events appended by other means.)
public struct SubscriptionsProjector: Projector {
    public static let name = "subscriptions"
    public var name: String { Self.name }
    public let version: UInt32 = 7
    public let eventTypes: Set<String> = Set(
        [
            BillingEventType.trialStarted, .subscriptionActivated, .planChanged, .subscriptionRenewed,
            .subscriptionPastDue,
            .gracePeriodStarted, .cancellationScheduled, .subscriptionCanceled, .subscriptionReactivated,
            .subscriptionExpired,
            .subscriptionMarkedUnpaid, .subscriptionRecovered, .discountApplied,
        ].map(\.rawValue))
    public let databases: [String: DatabaseOptions] = ["current": [], "due": []]

    public init() {}

    public func apply(_ event: StoredEvent, to store: ProjectionStore) throws {
        let key = Array(event.organizationID.utf8)
        let current = store.database("current")
        let due = store.database("due")
        let record = try Self.records.value(forKey: key, in: current, store)
        guard let next = try Self.folding(record, event) else { return }
        if let old = record?.nextChangeAt, old != next.nextChangeAt {
            try store.delete(key: Self.dueKey(old, key), in: due)
        }
        if let new = next.nextChangeAt { try store.put([], forKey: Self.dueKey(new, key), in: due) }
        try Self.records.put(next, forKey: key, in: current, store)
    }

    /// The record after one event: the projection's only rule, which `Engine.advance(to:)`
    /// also uses to look ahead, so the two cannot disagree.
    public static func folding(_ record: SubscriptionRecord?, _ event: StoredEvent) throws -> SubscriptionRecord? {
        let payload = event.payload
        switch BillingEventType(rawValue: event.eventType) {
        case .trialStarted:
            let started = try Tally_V1_TrialStarted(serializedBytes: payload)
            return SubscriptionRecord(
                id: started.subscriptionID, startedAt: event.occurredAt, recurringPrice: nil, currentPeriod: nil,
                createdByKey: event.idempotencyKey,
                subscription: try Subscription(
                    organizationID: event.organizationID, planID: started.planID,
                    interval: try started.interval.decoded(field: "interval"), trialEndsAt: started.trialEndsAt.date))
        case .subscriptionActivated:
            let activated = try Tally_V1_SubscriptionActivated(serializedBytes: payload)
            let price = try activated.recurringPrice.decoded(field: "recurring_price")
            let period = try BillingPeriod(start: activated.periodStart.date, end: activated.periodEnd.date)
            if var existing = record, existing.id == activated.subscriptionID,
                case .trialing = existing.subscription.status
            {
                try existing.subscription.convertTrial()
                existing.recurringPrice = price
                existing.periodPrice = price
                existing.currentPeriod = period
                return existing
            }
            return SubscriptionRecord(
                id: activated.subscriptionID, startedAt: event.occurredAt, recurringPrice: price, currentPeriod: period,
                createdByKey: event.idempotencyKey, periodPrice: price,
                subscription: try Subscription(
                    organizationID: event.organizationID, planID: activated.planID,
                    interval: try activated.interval.decoded(field: "interval"), activeFrom: activated.periodStart.date)
            )
        case nil:
            return record
        default:
            guard var existing = record else {
                throw BillingError.invalid(
                    field: "subscription_id",
                    rule: "\(event.eventType) for \(event.organizationID), which has no subscription")
            }
            try Self.transition(&existing, event)
            return existing
        }
    }

    static func dueKey(_ date: Date, _ organization: [UInt8]) -> [UInt8] {
        let nanoseconds = QuotasProjector.nanoseconds(Google_Protobuf_Timestamp(date: date))
        return withUnsafeBytes(of: (UInt64(bitPattern: nanoseconds) ^ (1 << 63)).bigEndian) { Array($0) } + organization
    }

    /// The organizations whose subscription changes by time at or before `date`, earliest
    /// first (ties by organization id): what `Engine.advance(to:)` must fold next.
    public static func due(atOrBefore date: Date, limit: Int, in reader: ProjectionReader) throws -> [String] {
        var organizations: [String] = []
        let bound = dueKey(date, [])
        try reader.transaction.withCursor(on: reader.database("due")) { cursor in
            var entry = try cursor.first()
            while let current = entry, organizations.count < limit {
                let key = Array(current.key)
                guard key.count > 8, key[..<8].lexicographicallyPrecedes(bound) || key[..<8].elementsEqual(bound) else {
                    break
                }
                organizations.append(String(decoding: key[8...], as: UTF8.self))
                entry = try cursor.next()
            }
        }
        return organizations
    }

    /// The transitions of an existing subscription, each through the domain's state machine.
    private static func transition(_ record: inout SubscriptionRecord, _ event: StoredEvent) throws {
        let payload = event.payload
        switch BillingEventType(rawValue: event.eventType) {
        case .planChanged:
            let change = try Tally_V1_PlanChanged(serializedBytes: payload)
            let interval = try change.interval.decoded(field: "interval")
            if change.immediate {
                let intervalChanges = interval != record.subscription.interval
                try record.subscription.changePlanNow(
                    to: change.toPlanID, interval: interval, at: change.effectiveAt.date)
                if case .trialing = record.subscription.status {
                } else {
                    record.recurringPrice = try change.recurringPrice.decoded(field: "recurring_price")
                    record.unbilledProrations.append(
                        UnbilledProration(
                            credit: try change.prorationCredit.decoded(field: "proration_credit"),
                            charge: try change.prorationCharge.decoded(field: "proration_charge")))
                    // A new interval starts a new cycle at the change.
                    if intervalChanges { record.currentPeriod = record.subscription.schedule.period(0) }
                }
            } else {
                try record.subscription.schedulePlanChange(to: change.toPlanID, interval: interval)
            }
        case .subscriptionRenewed:
            let renewed = try Tally_V1_SubscriptionRenewed(serializedBytes: payload)
            try record.subscription.renew(at: renewed.periodStart.date)
            record.unbilledProrations = []  // billed on the invoice that closed the period
            record.discount = record.discount?.afterPeriod()  // the closing invoice took its share
            record.recurringPrice = try renewed.recurringPrice.decoded(field: "recurring_price")
            record.periodPrice = record.recurringPrice
            record.currentPeriod = try BillingPeriod(start: renewed.periodStart.date, end: renewed.periodEnd.date)
        case .subscriptionPastDue:
            try record.subscription.markPastDue(
                at: try Tally_V1_SubscriptionPastDue(serializedBytes: payload).since.date)
        case .gracePeriodStarted:
            try record.subscription.startGrace(
                until: try Tally_V1_GracePeriodStarted(serializedBytes: payload).until.date)
        case .cancellationScheduled:
            try record.subscription.scheduleCancellation()
        case .subscriptionReactivated:
            try record.subscription.reactivate()
        case .subscriptionCanceled:
            record.unbilledProrations = []
            try record.subscription.cancelNow(
                at: try Tally_V1_SubscriptionCanceled(serializedBytes: payload).effectiveAt.date)
        case .subscriptionMarkedUnpaid:
            try record.subscription.markUnpaid(
                at: try Tally_V1_SubscriptionMarkedUnpaid(serializedBytes: payload).since.date)
        case .subscriptionRecovered:
            try record.subscription.recoverPayment()
        case .discountApplied:
            guard record.subscription.status.isLive else {
                throw BillingError.illegalTransition(
                    action: "apply a discount to", status: record.subscription.status.name)
            }
            record.discount = try Tally_V1_DiscountApplied(serializedBytes: payload).decoded()
        case .subscriptionExpired:
            try record.subscription.expireTrial(
                at: try Tally_V1_SubscriptionExpired(serializedBytes: payload).effectiveAt.date)
        default:
            return
        }
    }

    public static func current(of organizationID: String, in reader: ProjectionReader) throws -> SubscriptionRecord? {
        try Array(organizationID.utf8).withUnsafeBytes { key in
            try reader.transaction.withValue(forKey: key, in: reader.database("current")) { bytes in
                try bytes.map(records.decode)
            }
        }
    }

    /// Every organization's current (or last) subscription, by organization id.
    public static func all(in reader: ProjectionReader) throws -> [SubscriptionRecord] {
        var records: [SubscriptionRecord] = []
        try reader.transaction.withCursor(on: reader.database("current")) { cursor in
            var entry = try cursor.first()
            while let current = entry {
                records.append(try Self.records.decode(current.value))
                entry = try cursor.next()
            }
        }
        return records
    }

    /// Decoding JSON dominated quota checks; records change rarely, checks are constant.
    static let records = JSONRecords<SubscriptionRecord>()
}

/// An organization's current (or last) subscription.
public struct SubscriptionRecord: Sendable, Hashable, Codable {
    public var id: String
    public var startedAt: Date
    /// The price of the current period; nil while trialing.
    public var recurringPrice: Money?
    /// The period being billed (the last one, once ended); nil while trialing.
    public var currentPeriod: BillingPeriod?
    /// The idempotency key of the command that created it, so a retry can be recognized.
    public var createdByKey: String?
    /// The price the current period began at: what its closing invoice bills as the recurring
    /// fee, with the period's prorations on top (plan changes change `recurringPrice` only).
    public var periodPrice: Money?
    public var subscription: Subscription
    /// Proration amounts of plan changes in the current period, for the invoice that closes it.
    public var unbilledProrations: [UnbilledProration] = []
    /// The recurring discount in force: taken off the recurring fee of the invoice that closes
    /// each period until it runs out.
    public var discount: RecurringDiscount?
}

/// The credit and charge of one immediate plan change, not yet on an invoice.
public struct UnbilledProration: Sendable, Hashable, Codable {
    public var credit: Money
    public var charge: Money
}

extension SubscriptionRecord {
    /// When time alone next changes this subscription: the trial's end, the period's end
    /// (renewal, or a cancellation scheduled for it), or the end of a grace period. Nil once
    /// it has ended, and while unpaid (a payment restores it, and its renewals then catch up).
    public var nextChangeAt: Date? {
        switch subscription.status {
        case .trialing(let endsAt): endsAt
        case .active, .pastDue: currentPeriod?.end
        case .grace(_, let until): min(until, currentPeriod?.end ?? until)
        case .unpaid: subscription.cancelsAtPeriodEnd ? currentPeriod?.end : nil
        case .canceled, .expired: nil
        }
    }
}
