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
///
/// An event the state machine refuses aborts its commit: the log never accepts a transition
/// its own read model cannot follow. (The engine checks first, so this guards only against
/// events appended by other means.)
public struct SubscriptionsProjector: Projector {
    public static let name = "subscriptions"
    public var name: String { Self.name }
    public let version: UInt32 = 1
    public let eventTypes: Set<String> = Set([
        BillingEventType.trialStarted, .subscriptionActivated, .planChanged, .subscriptionRenewed, .subscriptionPastDue,
        .gracePeriodStarted, .cancellationScheduled, .subscriptionCanceled, .subscriptionReactivated, .subscriptionExpired,
    ].map(\.rawValue))
    public let databases: [String: DatabaseOptions] = ["current": []]

    public init() {}

    public func apply(_ event: StoredEvent, to store: ProjectionStore) throws {
        let key = Array(event.organizationID.utf8)
        let database = store.database("current")
        var record = try store.transaction.value(forKey: key, in: database).map { try Self.decoder.decode(SubscriptionRecord.self, from: Data($0)) }
        let payload = event.payload
        switch BillingEventType(rawValue: event.eventType) {
        case .trialStarted:
            let started = try Tally_V1_TrialStarted(serializedBytes: payload)
            record = SubscriptionRecord(
                id: started.subscriptionID, startedAt: event.occurredAt, recurringPrice: nil, createdByKey: event.idempotencyKey,
                subscription: try Subscription(
                    organizationID: event.organizationID, planID: started.planID,
                    interval: try started.interval.decoded(field: "interval"), trialEndsAt: started.trialEndsAt.date))
        case .subscriptionActivated:
            let activated = try Tally_V1_SubscriptionActivated(serializedBytes: payload)
            let price = try activated.recurringPrice.decoded(field: "recurring_price")
            if var existing = record, existing.id == activated.subscriptionID, case .trialing = existing.subscription.status {
                try existing.subscription.convertTrial()
                existing.recurringPrice = price
                record = existing
            } else {
                record = SubscriptionRecord(
                    id: activated.subscriptionID, startedAt: event.occurredAt, recurringPrice: price, createdByKey: event.idempotencyKey,
                    subscription: try Subscription(
                        organizationID: event.organizationID, planID: activated.planID,
                        interval: try activated.interval.decoded(field: "interval"), activeFrom: activated.periodStart.date))
            }
        default:
            guard var existing = record else {
                throw BillingError.invalid(field: "subscription_id", rule: "\(event.eventType) for \(event.organizationID), which has no subscription")
            }
            try Self.transition(&existing, event)
            record = existing
        }
        try store.transaction.put(try Self.encoder.encode(record), forKey: key, in: database)
    }

    /// The transitions of an existing subscription, each through the domain's state machine.
    private static func transition(_ record: inout SubscriptionRecord, _ event: StoredEvent) throws {
        let payload = event.payload
        switch BillingEventType(rawValue: event.eventType) {
        case .planChanged:
            let change = try Tally_V1_PlanChanged(serializedBytes: payload)
            let interval = try change.interval.decoded(field: "interval")
            if change.immediate {
                try record.subscription.changePlanNow(to: change.toPlanID, interval: interval, at: change.effectiveAt.date)
                if case .trialing = record.subscription.status {} else {
                    record.recurringPrice = try change.recurringPrice.decoded(field: "recurring_price")
                }
            } else {
                try record.subscription.schedulePlanChange(to: change.toPlanID, interval: interval)
            }
        case .subscriptionRenewed:
            let renewed = try Tally_V1_SubscriptionRenewed(serializedBytes: payload)
            try record.subscription.renew(at: renewed.periodStart.date)
            record.recurringPrice = try renewed.recurringPrice.decoded(field: "recurring_price")
        case .subscriptionPastDue:
            try record.subscription.markPastDue(at: try Tally_V1_SubscriptionPastDue(serializedBytes: payload).since.date)
        case .gracePeriodStarted:
            try record.subscription.startGrace(until: try Tally_V1_GracePeriodStarted(serializedBytes: payload).until.date)
        case .cancellationScheduled:
            try record.subscription.scheduleCancellation()
        case .subscriptionReactivated:
            try record.subscription.reactivate()
        case .subscriptionCanceled:
            try record.subscription.cancelNow(at: try Tally_V1_SubscriptionCanceled(serializedBytes: payload).effectiveAt.date)
        case .subscriptionExpired:
            try record.subscription.expireTrial(at: try Tally_V1_SubscriptionExpired(serializedBytes: payload).effectiveAt.date)
        default:
            return
        }
    }

    public static func current(of organizationID: String, in reader: ProjectionReader) throws -> SubscriptionRecord? {
        try Array(organizationID.utf8).withUnsafeBytes { key in
            try reader.transaction.withValue(forKey: key, in: reader.database("current")) { bytes in
                try bytes.map { bytes in try cache.value(for: bytes) { try decoder.decode(SubscriptionRecord.self, from: Data($0)) } }
            }
        }
    }

    /// Decoding JSON dominated quota checks; records change rarely, checks are constant.
    private static let cache = DecodeCache<SubscriptionRecord>()

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }()

    static let decoder = JSONDecoder()
}

/// An organization's current (or last) subscription.
public struct SubscriptionRecord: Sendable, Hashable, Codable {
    public var id: String
    public var startedAt: Date
    /// The price of the current period; nil while trialing.
    public var recurringPrice: Money?
    /// The idempotency key of the command that created it, so a retry can be recognized.
    public var createdByKey: String?
    public var subscription: Subscription
}
