public import BillingEvents
public import EventLog
import Foundation
public import LMDB
public import Projections
import SwiftProtobuf

/// Invoices per organization, and the last number of each series.
///
/// | database | key | value |
/// | --- | --- | --- |
/// | `invoices` | org, 0, series, 0, number (8 bytes, big-endian) | the `InvoiceIssued` payload |
/// | `numbers` | series, 0, number (8 bytes, big-endian) | org |
/// | `series` | series | the last number issued (8 bytes, big-endian) |
public struct InvoicesProjector: Projector {
    public static let name = "invoices"
    public var name: String { Self.name }
    public let version: UInt32 = 1
    public let eventTypes: Set<String> = [BillingEventType.invoiceIssued.rawValue]
    public let databases: [String: DatabaseOptions] = ["invoices": [], "numbers": [], "series": []]

    public init() {}

    public func apply(_ event: StoredEvent, to store: ProjectionStore) throws {
        let invoice = try Tally_V1_InvoiceIssued(serializedBytes: event.payload)
        let number = Self.bigEndian(invoice.number)
        try store.put(Array(event.payload), forKey: Array(event.organizationID.utf8) + [0] + Array(invoice.series.utf8) + [0] + number, in: store.database("invoices"))
        try store.put(Array(event.organizationID.utf8), forKey: Array(invoice.series.utf8) + [0] + number, in: store.database("numbers"))
        try store.put(number, forKey: Array(invoice.series.utf8), in: store.database("series"))
    }

    /// The last number issued in `series` (0 when none).
    public static func lastNumber(in series: String, _ reader: ProjectionReader) throws -> UInt64 {
        try reader.transaction.value(forKey: Array(series.utf8), in: reader.database("series"))
            .map { $0.reduce(UInt64(0)) { $0 << 8 | UInt64($1) } } ?? 0
    }

    /// An organization's invoices, oldest first.
    public static func invoices(of organizationID: String, in reader: ProjectionReader) throws -> [Tally_V1_InvoiceIssued] {
        let prefix = Array(organizationID.utf8) + [0]
        var invoices: [Tally_V1_InvoiceIssued] = []
        try reader.transaction.withCursor(on: reader.database("invoices")) { cursor in
            var entry = try prefix.withUnsafeBytes { try cursor.seek(atOrAfter: $0) }
            while let current = entry, Array(current.key).starts(with: prefix) {
                invoices.append(try Tally_V1_InvoiceIssued(serializedBytes: Array(current.value)))
                entry = try cursor.next()
            }
        }
        return invoices
    }

    /// The invoice `series`-`number` (as printed: "2026-000042").
    public static func invoice(series: String, number: UInt64, in reader: ProjectionReader) throws -> Tally_V1_InvoiceIssued? {
        guard let organization = try reader.transaction.value(forKey: Array(series.utf8) + [0] + bigEndian(number), in: reader.database("numbers")) else {
            return nil
        }
        return try reader.transaction.value(forKey: organization + [0] + Array(series.utf8) + [0] + bigEndian(number), in: reader.database("invoices"))
            .map { try Tally_V1_InvoiceIssued(serializedBytes: $0) }
    }

    static func bigEndian(_ value: UInt64) -> [UInt8] {
        withUnsafeBytes(of: value.bigEndian) { Array($0) }
    }
}
