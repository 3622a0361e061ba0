public import BillingEvents
import Foundation
import LMDB
public import Projections
import SwiftProtobuf

extension InvoicesProjector {
    /// The last number issued in `series` (0 when none).
    public static func lastNumber(in series: String, _ reader: ProjectionReader) throws -> UInt64 {
        try reader.transaction.value(forKey: Array(series.utf8), in: reader.database("series"))
            .map { $0.reduce(UInt64(0)) { $0 << 8 | UInt64($1) } } ?? 0
    }

    /// An organization's issued invoices, oldest first.
    public static func invoices(of organizationID: String, in reader: ProjectionReader) throws
        -> [Tally_V1_InvoiceIssued]
    {
        try values(withPrefix: Array(organizationID.utf8) + [0], in: reader.database("invoices"), reader).map {
            try Tally_V1_InvoiceIssued(serializedBytes: $0)
        }
    }

    /// An organization's drafts still waiting for late usage, by draft id.
    public static func drafts(of organizationID: String, in reader: ProjectionReader) throws
        -> [Tally_V1_InvoiceDrafted]
    {
        try values(withPrefix: Array(organizationID.utf8) + [0], in: reader.database("drafts"), reader).map {
            try Tally_V1_InvoiceDrafted(serializedBytes: $0)
        }
    }

    public static func draft(_ draftID: String, of organizationID: String, in reader: ProjectionReader) throws
        -> Tally_V1_InvoiceDrafted?
    {
        try reader.transaction.value(
            forKey: Array(organizationID.utf8) + [0] + Array(draftID.utf8), in: reader.database("drafts")
        )
        .map { try Tally_V1_InvoiceDrafted(serializedBytes: $0) }
    }

    /// The credit notes of an invoice, in number order.
    public static func creditNotes(of invoiceID: String, in reader: ProjectionReader) throws
        -> [Tally_V1_CreditNoteIssued]
    {
        try values(withPrefix: Array(invoiceID.utf8) + [0], in: reader.database("credit_notes"), reader)
            .map { try Tally_V1_CreditNoteIssued(serializedBytes: $0) }
    }

    /// The invoice `series`-`number` (as printed: "2026-000042").
    public static func invoice(series: String, number: UInt64, in reader: ProjectionReader) throws
        -> Tally_V1_InvoiceIssued?
    {
        guard
            let organization = try reader.transaction.value(
                forKey: Array(series.utf8) + [0] + bigEndian(number), in: reader.database("numbers"))
        else {
            return nil
        }
        return try reader.transaction.value(
            forKey: organization + [0] + Array(series.utf8) + [0] + bigEndian(number), in: reader.database("invoices")
        )
        .map { try Tally_V1_InvoiceIssued(serializedBytes: $0) }
    }

    /// The organization invoice `series`-`number` was issued to.
    public static func organization(series: String, number: UInt64, in reader: ProjectionReader) throws -> String? {
        try reader.transaction.value(
            forKey: Array(series.utf8) + [0] + bigEndian(number), in: reader.database("numbers")
        )
        .map { String(decoding: $0, as: UTF8.self) }
    }

    public static func status(of invoiceID: String, in reader: ProjectionReader) throws -> InvoiceStatus? {
        try reader.transaction.value(forKey: Array(invoiceID.utf8), in: reader.database("status")).map {
            try decoder.decode(InvoiceStatus.self, from: Data($0))
        }
    }

    /// What earlier invoices of a subscription billed, period by period, oldest first.
    public static func billedUsage(of subscriptionID: String, in reader: ProjectionReader) throws -> [BilledUsage] {
        try values(withPrefix: Array(subscriptionID.utf8) + [0], in: reader.database("billed"), reader).map {
            try decoder.decode(BilledUsage.self, from: Data($0))
        }
    }

    /// Drafts due to be finalized at or before `nanoseconds`, earliest first: (organization, draft id).
    public static func finalizationsDue(atOrBefore nanoseconds: Int64, limit: Int, in reader: ProjectionReader) throws
        -> [(organizationID: String, draftID: String)]
    {
        var due: [(String, String)] = []
        try reader.transaction.withCursor(on: reader.database("finalize")) { cursor in
            var entry = try cursor.first()
            while let current = entry, due.count < limit, time(of: current.key) <= nanoseconds {
                let rest = Array(current.key.dropFirst(8))
                guard let zero = rest.firstIndex(of: 0) else { break }
                due.append(
                    (
                        String(decoding: rest[..<zero], as: UTF8.self),
                        String(decoding: rest[(zero + 1)...], as: UTF8.self)
                    ))
                entry = try cursor.next()
            }
        }
        return due
    }

    /// When the earliest payment attempt is due (ns since 1970), if any.
    public static func firstCollectionDue(in reader: ProjectionReader) throws -> Int64? {
        try reader.transaction.withCursor(on: reader.database("collection")) { cursor in
            try cursor.first().map { time(of: $0.key) }
        }
    }

    /// The invoices due a payment attempt at exactly `nanoseconds`, by invoice id.
    public static func collectionsDue(at nanoseconds: Int64, in reader: ProjectionReader) throws -> [String] {
        try keys(withPrefix: timeKey(nanoseconds), in: reader.database("collection"), reader).map {
            String(decoding: $0.dropFirst(8), as: UTF8.self)
        }
    }

    private static func values(withPrefix prefix: [UInt8], in database: Database, _ reader: ProjectionReader) throws
        -> [[UInt8]]
    {
        try entries(withPrefix: prefix, in: database, reader).map(\.value)
    }

    private static func keys(withPrefix prefix: [UInt8], in database: Database, _ reader: ProjectionReader) throws
        -> [[UInt8]]
    {
        try entries(withPrefix: prefix, in: database, reader).map(\.key)
    }

    private static func entries(withPrefix prefix: [UInt8], in database: Database, _ reader: ProjectionReader) throws
        -> [(key: [UInt8], value: [UInt8])]
    {
        var found: [(key: [UInt8], value: [UInt8])] = []
        try reader.transaction.withCursor(on: database) { cursor in
            var entry = try prefix.withUnsafeBytes { try cursor.seek(atOrAfter: $0) }
            while let current = entry, current.key.starts(with: prefix) {
                found.append((Array(current.key), Array(current.value)))
                entry = try cursor.next()
            }
        }
        return found
    }
}
