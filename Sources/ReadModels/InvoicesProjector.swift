import BillingEvents
public import EventLog
import Foundation
public import LMDB
public import Projections
import SwiftProtobuf
import TallySupport

/// Invoices per organization: drafts waiting for late usage, issued invoices with their
/// numbers, states and credit notes, what each billed per period, and the moments `advance`
/// must act at (finalizing a draft, attempting a payment).
///
/// | database | key | value |
/// | --- | --- | --- |
/// | `invoices` | org, 0, series, 0, number (8 bytes, big-endian) | the `InvoiceIssued` payload |
/// | `numbers` | series, 0, number | org |
/// | `series` | series (invoices "2026", credit notes "CN-2026") | the last number issued (8 bytes, big-endian) |
/// | `status` | invoice id | `InvoiceStatus` as JSON with sorted keys |
/// | `drafts` | org, 0, draft id | the `InvoiceDrafted` payload |
/// | `finalize` | when (8 bytes, ns, sign flipped), org, 0, draft id | empty: drafts due to be finalized |
/// | `collection` | when (8 bytes), invoice id | org: open invoices due a payment attempt |
/// | `billed` | subscription id, 0, period start (8 bytes, seconds, sign flipped) | `BilledUsage` as JSON |
/// | `credit_notes` | invoice id, 0, credit note id | the `CreditNoteIssued` payload |
public struct InvoicesProjector: Projector {
    public static let name = "invoices"
    public var name: String { Self.name }
    public let version: UInt32 = 4
    public let eventTypes: Set<String> = Set(
        [
            BillingEventType.invoiceDrafted, .invoiceIssued, .invoiceVoided, .invoiceMarkedUncollectible,
            .paymentSucceeded, .paymentFailed,
            .paymentRefunded, .creditNoteIssued,
        ].map(\.rawValue))
    public let databases: [String: DatabaseOptions] = [
        "invoices": [], "numbers": [], "series": [], "status": [], "drafts": [], "finalize": [], "collection": [],
        "billed": [],
        "credit_notes": [],
    ]

    public init() {}

    public func apply(_ event: StoredEvent, to store: ProjectionStore) throws {
        let payload = event.payload
        switch BillingEventType(rawValue: event.eventType) {
        case .invoiceDrafted:
            let draft = try Tally_V1_InvoiceDrafted(serializedBytes: payload)
            let key = Array(event.organizationID.utf8) + [0] + Array(draft.draftID.utf8)
            try store.put(Array(payload), forKey: key, in: store.database("drafts"))
            try store.put(
                [], forKey: Self.timeKey(QuotasProjector.nanoseconds(draft.finalizeAt)) + key,
                in: store.database("finalize"))
        case .invoiceIssued:
            try issue(try Tally_V1_InvoiceIssued(serializedBytes: payload), event, store)
        case .invoiceVoided:
            try update(try Tally_V1_InvoiceVoided(serializedBytes: payload).invoiceID, store) { $0.state = .void }
        case .invoiceMarkedUncollectible:
            try update(try Tally_V1_InvoiceMarkedUncollectible(serializedBytes: payload).invoiceID, store) {
                $0.state = .uncollectible
            }
        case .paymentSucceeded:
            let paid = try Tally_V1_PaymentSucceeded(serializedBytes: payload)
            try update(paid.invoiceID, store) { status in
                status.state = .paid
                status.paymentIntentID = paid.paymentIntentID
                status.amountPaid += paid.amount.minorUnits
                status.amountDue = 0
            }
        case .paymentFailed:
            let failed = try Tally_V1_PaymentFailed(serializedBytes: payload)
            try update(failed.invoiceID, store) { status in
                status.failedAttempts += 1
                if status.firstFailureAt == 0 { status.firstFailureAt = event.envelope.occurredAt.seconds }
                status.nextAttemptAt = failed.hasNextAttemptAt ? QuotasProjector.nanoseconds(failed.nextAttemptAt) : nil
            }
        case .creditNoteIssued:
            let note = try Tally_V1_CreditNoteIssued(serializedBytes: payload)
            try store.put(
                Array(payload), forKey: Array(note.invoiceID.utf8) + [0] + Array(note.creditNoteID.utf8),
                in: store.database("credit_notes"))
            try store.put(Self.bigEndian(note.number), forKey: Array(note.series.utf8), in: store.database("series"))
            try update(note.invoiceID, store) { status in
                status.credited += note.amount.minorUnits
                status.creditedTax += note.tax.minorUnits
                status.creditNotes += 1
                if note.appliedTo == "amount_due" {
                    status.amountDue -= note.amount.minorUnits
                    // Credited down to nothing owed: settled, as Stripe marks it paid.
                    if status.amountDue == 0, status.state == .open { status.state = .paid }
                }
            }
        case .paymentRefunded:
            let refund = try Tally_V1_PaymentRefunded(serializedBytes: payload)
            try update(refund.invoiceID, store) { $0.refunded += refund.amount.minorUnits }
        default:
            break
        }
    }

    private func issue(_ invoice: Tally_V1_InvoiceIssued, _ event: StoredEvent, _ store: ProjectionStore) throws {
        let organization = Array(event.organizationID.utf8)
        // An invoice with nothing due is settled as it is issued; any other waits for a payment.
        var status = InvoiceStatus(state: .open, currency: invoice.currency, amountDue: invoice.amountDue.minorUnits)
        if status.amountDue == 0 {
            status.state = .paid
        } else {
            status.nextAttemptAt = QuotasProjector.nanoseconds(event.envelope.occurredAt)
        }
        try write(status, for: invoice.invoiceID, previous: nil, organization: organization, store)
        let number = Self.bigEndian(invoice.number)
        try store.put(
            Array(event.payload), forKey: organization + [0] + Array(invoice.series.utf8) + [0] + number,
            in: store.database("invoices"))
        try store.put(organization, forKey: Array(invoice.series.utf8) + [0] + number, in: store.database("numbers"))
        try store.put(number, forKey: Array(invoice.series.utf8), in: store.database("series"))
        if !invoice.draftID.isEmpty {
            let key = organization + [0] + Array(invoice.draftID.utf8)
            if let draft = try store.value(forKey: key, in: store.database("drafts")).map({
                try Tally_V1_InvoiceDrafted(serializedBytes: $0)
            }) {
                try store.delete(
                    key: Self.timeKey(QuotasProjector.nanoseconds(draft.finalizeAt)) + key,
                    in: store.database("finalize"))
                try store.delete(key: key, in: store.database("drafts"))
            }
        }
        // What this invoice billed per period, for late usage later.
        var billed =
            try Self.billed(invoice.subscriptionID, periodStart: invoice.periodStart.seconds, in: store)
            ?? BilledUsage(
                planID: invoice.planID, periodStart: invoice.periodStart.seconds, periodEnd: invoice.periodEnd.seconds,
                quantities: [:])
        for line in invoice.lines where line.kind == "usage" { billed.quantities[line.metric] = line.usedQuantity }
        try Self.putBilled(billed, subscriptionID: invoice.subscriptionID, store)
        for line in invoice.lines where line.kind == "late_usage" {
            guard
                var earlier = try Self.billed(invoice.subscriptionID, periodStart: line.serviceStart.seconds, in: store)
            else { continue }
            earlier.quantities[line.metric] = line.usedQuantity
            try Self.putBilled(earlier, subscriptionID: invoice.subscriptionID, store)
        }
    }

    private func update(_ invoiceID: String, _ store: ProjectionStore, _ change: (inout InvoiceStatus) -> Void) throws {
        let key = Array(invoiceID.utf8)
        guard let bytes = try store.value(forKey: key, in: store.database("status")) else { return }
        let previous = try Self.decoder.decode(InvoiceStatus.self, from: Data(bytes))
        var status = previous
        change(&status)
        if status.state != .open { status.nextAttemptAt = nil }
        guard let organization = try Self.organization(ofInvoiceID: invoiceID, store.database("numbers"), store) else {
            return
        }
        try write(status, for: invoiceID, previous: previous, organization: organization, store)
    }

    /// Writes `status`, keeping the collection index in step with its next attempt.
    private func write(
        _ status: InvoiceStatus, for invoiceID: String, previous: InvoiceStatus?, organization: [UInt8],
        _ store: ProjectionStore
    ) throws {
        let collection = store.database("collection")
        if let old = previous?.nextAttemptAt, old != status.nextAttemptAt {
            try store.delete(key: Self.timeKey(old) + Array(invoiceID.utf8), in: collection)
        }
        if let new = status.nextAttemptAt {
            try store.put(organization, forKey: Self.timeKey(new) + Array(invoiceID.utf8), in: collection)
        }
        try store.put(try RecordJSONEncoder.encode(status), forKey: Array(invoiceID.utf8), in: store.database("status"))
    }

    private static func organization(ofInvoiceID invoiceID: String, _ numbers: Database, _ store: ProjectionStore)
        throws -> [UInt8]?
    {
        guard let (series, number) = parse(invoiceID) else { return nil }
        return try store.value(forKey: Array(series.utf8) + [0] + bigEndian(number), in: numbers)
    }

    private static func billed(_ subscriptionID: String, periodStart: Int64, in store: ProjectionStore) throws
        -> BilledUsage?
    {
        try store.value(forKey: billedKey(subscriptionID, periodStart), in: store.database("billed")).map {
            try decoder.decode(BilledUsage.self, from: Data($0))
        }
    }

    private static func putBilled(_ billed: BilledUsage, subscriptionID: String, _ store: ProjectionStore) throws {
        try store.put(
            try RecordJSONEncoder.encode(billed), forKey: billedKey(subscriptionID, billed.periodStart),
            in: store.database("billed"))
    }

    static func billedKey(_ subscriptionID: String, _ periodStart: Int64) -> [UInt8] {
        Array(subscriptionID.utf8) + [0]
            + withUnsafeBytes(of: (UInt64(bitPattern: periodStart) ^ (1 << 63)).bigEndian) { Array($0) }
    }

    static func timeKey(_ nanoseconds: Int64) -> [UInt8] {
        withUnsafeBytes(of: (UInt64(bitPattern: nanoseconds) ^ (1 << 63)).bigEndian) { Array($0) }
    }

    static func time(of key: some Collection<UInt8>) -> Int64 {
        Int64(bitPattern: key.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) } ^ (1 << 63))
    }

    static func bigEndian(_ value: UInt64) -> [UInt8] {
        withUnsafeBytes(of: value.bigEndian) { Array($0) }
    }

    /// "2026-000042" as (series "2026", number 42); "CN-2026-000001" as ("CN-2026", 1).
    public static func parse(_ id: String) -> (series: String, number: UInt64)? {
        guard let dash = id.lastIndex(of: "-"), let number = UInt64(id[id.index(after: dash)...]), number > 0 else {
            return nil
        }
        return (String(id[..<dash]), number)
    }

    static let decoder = JSONDecoder()
}
