import Billing
public import BillingEvents
public import EventLog
import Foundation
public import LMDB
public import Projections
import SwiftProtobuf

/// Monthly recurring revenue and its movements (docs/METRICS.md). Each subscription is folded
/// through the domain's state machine with `SubscriptionsProjector.folding` (the same rule as
/// the `subscriptions` read model), keyed by subscription so that an organization may hold
/// several; an organization's MRR is the sum of its live, paying subscriptions' recurring
/// prices normalized to a month. Every change of it is one classified movement.
///
/// | database | key | value |
/// | --- | --- | --- |
/// | `subscriptions` | subscription id | `SubscriptionRecord` as JSON with sorted keys |
/// | `customers` | organization id | `CustomerHistory` as JSON with sorted keys: signup day, MRR per subscription, every movement, every trial |
/// | `daily` | currency, 0, day (4 bytes, sign bit flipped) | per movement kind in `MRRMovement.Kind.allCases` order, the amount then the count (8-byte big-endian two's complement each) |
/// | `metered` | currency, 0, day | usage revenue invoiced (usage and late-usage lines, net of tax), on the last day of the service it bills |
public struct MRRProjector: Projector {
    public static let name = "mrr"
    public var name: String { Self.name }
    public let version: UInt32 = 2
    public let eventTypes: Set<String> = Set(
        [BillingEventType.organizationRegistered.rawValue, BillingEventType.invoiceIssued.rawValue]
            + SubscriptionsProjector().eventTypes)
    public let databases: [String: DatabaseOptions] = [
        "subscriptions": [], "customers": [], "daily": [], "metered": [],
    ]

    public init() {}

    public func apply(_ event: StoredEvent, to store: ProjectionStore) throws {
        let day = UTCDay.number(of: event.envelope.occurredAt.seconds)
        switch BillingEventType(rawValue: event.eventType) {
        case .organizationRegistered:
            var history = try Self.history(event.organizationID, store)
            guard history.signupDay == nil else { return }
            history.signupDay = day
            try Self.save(history, store)
        case .invoiceIssued:
            try applyInvoice(try Tally_V1_InvoiceIssued(serializedBytes: event.payload), store)
        default:
            try applySubscriptionEvent(event, day: day, store)
        }
    }

    private func applySubscriptionEvent(_ event: StoredEvent, day: Int32, _ store: ProjectionStore) throws {
        // Every subscription payload carries its subscription id as field 1; the smallest of
        // them reads just that field and keeps the rest as unknown fields.
        let subscriptionID = try Tally_V1_SubscriptionReactivated(serializedBytes: event.payload).subscriptionID
        let key = Array(subscriptionID.utf8)
        let subscriptions = store.database("subscriptions")
        let record = try SubscriptionsProjector.records.value(forKey: key, in: subscriptions, store)
        guard let next = try SubscriptionsProjector.folding(record, event) else { return }
        try SubscriptionsProjector.records.put(next, forKey: key, in: subscriptions, store)

        var history = try Self.history(event.organizationID, store)
        if let trialOutcome = Self.trialOutcome(from: record?.subscription.status, to: next.subscription.status) {
            if trialOutcome == .trialing {
                history.trials.append(CustomerHistory.Trial(subscriptionID: subscriptionID, startDay: day))
            } else if let index = history.trials.lastIndex(where: { $0.subscriptionID == subscriptionID }) {
                history.trials[index].outcome = trialOutcome
                history.trials[index].endDay = day
            }
        }
        let contribution = try Self.contribution(of: next)
        if let price = next.recurringPrice, history.currency == nil { history.currency = price.currency.code }
        if let movement = history.setContribution(contribution, of: subscriptionID, on: day, cause: event.eventType),
            let currency = history.currency
        {
            try Self.addMovement(movement, currency: currency, day: day, store)
        }
        try Self.save(history, store)
    }

    /// What a subscription adds to its organization's MRR: its recurring price, net of any
    /// recurring discount, over a month while it is paid for (active, past due or in grace);
    /// nothing while trialing, unpaid or after it ended.
    public static func contribution(of record: SubscriptionRecord) throws -> Int64 {
        guard let price = record.recurringPrice else { return 0 }
        switch record.subscription.status {
        case .active, .pastDue, .grace:
            let fee = try record.discount?.discounted(price) ?? price
            return try MRRMovement.monthly(fee, every: record.subscription.interval).minorUnits
        case .trialing, .unpaid, .canceled, .expired: return 0
        }
    }

    private static func trialOutcome(from old: Subscription.Status?, to new: Subscription.Status) -> CustomerHistory
        .Trial.Outcome?
    {
        switch (old, new) {
        case (nil, .trialing): .trialing
        case (.trialing?, .active): .converted
        case (.trialing?, .expired): .expired
        case (.trialing?, .canceled): .canceled
        default: nil
        }
    }

    /// An invoice's usage revenue (usage and late-usage lines, net of tax) by the UTC day its
    /// service ended: the last day of the period each line bills.
    public static func usageRevenue(of invoice: Tally_V1_InvoiceIssued) -> [Int32: Int64] {
        var byDay: [Int32: Int64] = [:]
        for line in invoice.lines
        where line.kind == InvoiceLine.Kind.usage.rawValue || line.kind == InvoiceLine.Kind.lateUsage.rawValue {
            let end = line.hasServiceEnd ? line.serviceEnd.seconds : invoice.periodEnd.seconds
            byDay[UTCDay.number(of: end - 1), default: 0] += line.amount.minorUnits
        }
        return byDay
    }

    private func applyInvoice(_ invoice: Tally_V1_InvoiceIssued, _ store: ProjectionStore) throws {
        for (day, amount) in Self.usageRevenue(of: invoice) where amount != 0 {
            try RevenueProjector.add(amount, currency: invoice.currency, day: day, in: store.database("metered"), store)
        }
    }

    // MARK: Storage

    private static func history(_ organizationID: String, _ store: ProjectionStore) throws -> CustomerHistory {
        try historyRecords.value(forKey: Array(organizationID.utf8), in: store.database("customers"), store)
            ?? CustomerHistory(organizationID: organizationID)
    }

    private static func save(_ history: CustomerHistory, _ store: ProjectionStore) throws {
        try historyRecords.put(
            history, forKey: Array(history.organizationID.utf8), in: store.database("customers"), store)
    }

    private static func addMovement(_ movement: MRRMovement, currency: String, day: Int32, _ store: ProjectionStore)
        throws
    {
        let key = RevenueProjector.key(currency, day)
        let database = store.database("daily")
        var totals = try store.withValue(forKey: key, in: database) { $0.map(decodeTotals) } ?? MovementTotals()
        totals.add(movement)
        try store.put(encodeTotals(totals), forKey: key, in: database)
    }

    static func encodeTotals(_ totals: MovementTotals) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(80)
        for kind in MRRMovement.Kind.allCases {
            withUnsafeBytes(of: totals.amount(kind).bigEndian) { bytes.append(contentsOf: $0) }
            withUnsafeBytes(of: totals.count(kind).bigEndian) { bytes.append(contentsOf: $0) }
        }
        return bytes
    }

    static func decodeTotals(_ bytes: UnsafeRawBufferPointer) -> MovementTotals {
        var totals = MovementTotals()
        for (index, kind) in MRRMovement.Kind.allCases.enumerated() {
            let amount = Int64(bigEndian: bytes.loadUnaligned(fromByteOffset: index * 16, as: Int64.self))
            let count = Int64(bigEndian: bytes.loadUnaligned(fromByteOffset: index * 16 + 8, as: Int64.self))
            if amount != 0 || count != 0 { totals.add(MRRMovement(kind: kind, amount: amount), count: count) }
        }
        return totals
    }

    static let historyRecords = JSONRecords<CustomerHistory>()
}
