import Billing
import BillingEvents
public import EventLog
import Foundation
public import LMDB
public import Projections
import SwiftProtobuf

/// Revenue recognized per UTC day: every invoice line's net amount spread ratably, to the
/// second, over its service period (the invoice's period; usage is recognized in the period it
/// was used). Amounts are exact: the share recognized by a moment is rounded down, and each
/// day gets the difference, so a line's days always add up to the line.
///
/// | database | key | value |
/// | --- | --- | --- |
/// | `daily` | currency, 0, day (4 bytes, sign bit flipped) | minor units recognized (8 bytes, two's complement) |
/// | `invoiced` | currency, 0, day the invoice was issued | minor units invoiced, net of tax |
public struct RevenueProjector: Projector {
    public static let name = "revenue"
    public var name: String { Self.name }
    public let version: UInt32 = 3
    public let eventTypes: Set<String> = [
        BillingEventType.invoiceIssued.rawValue, BillingEventType.creditNoteIssued.rawValue,
    ]
    public let databases: [String: DatabaseOptions] = ["daily": [], "invoiced": []]

    public init() {}

    public func apply(_ event: StoredEvent, to store: ProjectionStore) throws {
        if event.eventType == BillingEventType.creditNoteIssued.rawValue {
            try applyCreditNote(
                try Tally_V1_CreditNoteIssued(serializedBytes: event.payload), at: event.envelope.occurredAt, store)
            return
        }
        let invoice = try Tally_V1_InvoiceIssued(serializedBytes: event.payload)
        let net = invoice.lines.reduce(Int64(0)) { $0 + $1.amount.minorUnits }
        try Self.add(
            net, currency: invoice.currency, day: UTCDay.number(of: event.envelope.occurredAt.seconds),
            in: store.database("invoiced"), store)
        // Each line over its service period: the invoice's, or an earlier one for late usage.
        var byPeriod: [(start: Int64, end: Int64, net: Int64)] = []
        for line in invoice.lines {
            let start = line.hasServiceStart ? line.serviceStart.seconds : invoice.periodStart.seconds
            let end = line.hasServiceEnd ? line.serviceEnd.seconds : invoice.periodEnd.seconds
            if let index = byPeriod.firstIndex(where: { $0.start == start && $0.end == end }) {
                byPeriod[index].net += line.amount.minorUnits
            } else {
                byPeriod.append((start, end, line.amount.minorUnits))
            }
        }
        for period in byPeriod {
            try recognize(period.net, from: period.start, to: period.end, currency: invoice.currency, store)
        }
    }

    /// A credit note takes back its net amount without restating days already recognized: the
    /// share of the period already elapsed comes off on the note's day, the rest ratably over
    /// what is left of the period.
    private func applyCreditNote(
        _ note: Tally_V1_CreditNoteIssued, at moment: Google_Protobuf_Timestamp, _ store: ProjectionStore
    ) throws {
        let net = -(note.amount.minorUnits - note.tax.minorUnits)
        let noteDay = UTCDay.number(of: moment.seconds)
        try Self.add(net, currency: note.amount.currency, day: noteDay, in: store.database("invoiced"), store)
        let start = note.periodStart.seconds
        let end = note.periodEnd.seconds
        guard net != 0 else { return }
        guard end > start else {
            try Self.add(net, currency: note.amount.currency, day: noteDay, in: store.database("daily"), store)
            return
        }
        let total = Int128(end - start)
        func credited(by second: Int64) -> Int64 {
            second < moment.seconds ? 0 : Int64(Int128(net) * Int128(min(max(second, start), end) - start) / total)
        }
        var day = noteDay
        while true {
            let dayStart = Int64(day) * 86_400
            let share = credited(by: dayStart + 86_400) - (day == noteDay ? 0 : credited(by: dayStart))
            if share != 0 {
                try Self.add(share, currency: note.amount.currency, day: day, in: store.database("daily"), store)
            }
            if dayStart + 86_400 >= end { break }
            day += 1
        }
    }

    /// Spreads `net` over [start, end) exactly: recognized by t = floor(net × (t − start) / (end − start)).
    private func recognize(_ net: Int64, from start: Int64, to end: Int64, currency: String, _ store: ProjectionStore)
        throws
    {
        guard end > start, net != 0 else { return }
        let total = Int128(end - start)
        func recognized(by second: Int64) -> Int64 {
            Int64(Int128(net) * Int128(min(max(second, start), end) - start) / total)
        }
        var day = UTCDay.number(of: start)
        while Int64(day) * 86_400 < end {
            let dayStart = Int64(day) * 86_400
            let share = recognized(by: dayStart + 86_400) - recognized(by: dayStart)
            if share != 0 { try Self.add(share, currency: currency, day: day, in: store.database("daily"), store) }
            day += 1
        }
    }

    /// Adds `amount` to the currency's day in `database` (the `mrr` projector's usage revenue too).
    static func add(_ amount: Int64, currency: String, day: Int32, in database: Database, _ store: ProjectionStore)
        throws
    {
        let key = Self.key(currency, day)
        let current =
            try store.withValue(forKey: key, in: database) {
                $0.map { Int64(bigEndian: $0.loadUnaligned(as: Int64.self)) }
            } ?? 0
        try store.put(withUnsafeBytes(of: (current &+ amount).bigEndian) { Array($0) }, forKey: key, in: database)
    }

    static func key(_ currency: String, _ day: Int32) -> [UInt8] {
        Array(currency.utf8) + [0]
            + withUnsafeBytes(of: (UInt32(bitPattern: day) ^ 0x8000_0000).bigEndian) { Array($0) }
    }

    /// Minor units recognized per currency on the UTC days `from` through `to`.
    public static func recognized(fromDay: Int32, toDay: Int32, in reader: ProjectionReader) throws -> [String: Int64] {
        try sum(reader.database("daily"), fromDay: fromDay, toDay: toDay, reader)
    }

    /// Minor units invoiced (net of tax) per currency on the UTC days `from` through `to`.
    public static func invoiced(fromDay: Int32, toDay: Int32, in reader: ProjectionReader) throws -> [String: Int64] {
        try sum(reader.database("invoiced"), fromDay: fromDay, toDay: toDay, reader)
    }

    private static func sum(_ database: Database, fromDay: Int32, toDay: Int32, _ reader: ProjectionReader) throws
        -> [String: Int64]
    {
        var totals: [String: Int64] = [:]
        try reader.transaction.withCursor(on: database) { cursor in
            var entry = try cursor.first()
            while let current = entry {
                let key = Array(current.key)
                if let zero = key.firstIndex(of: 0), key.count == zero + 5 {
                    let day = UsageRollupsProjector.dayNumber(key[(zero + 1)...])
                    if day >= fromDay, day <= toDay {
                        totals[String(decoding: key[..<zero], as: UTF8.self), default: 0] +=
                            current.value.loadUnaligned(as: Int64.self).bigEndian
                    }
                }
                entry = try cursor.next()
            }
        }
        return totals
    }
}
