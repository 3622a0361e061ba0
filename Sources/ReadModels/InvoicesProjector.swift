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
/// | `status` | invoice id | `InvoiceStatus` (13 bytes) |
public struct InvoicesProjector: Projector {
    public static let name = "invoices"
    public var name: String { Self.name }
    public let version: UInt32 = 2
    public let eventTypes: Set<String> = Set([
        BillingEventType.invoiceIssued, .invoiceVoided, .invoiceMarkedUncollectible, .paymentSucceeded, .paymentFailed,
    ].map(\.rawValue))
    public let databases: [String: DatabaseOptions] = ["invoices": [], "numbers": [], "series": [], "status": []]

    public init() {}

    public func apply(_ event: StoredEvent, to store: ProjectionStore) throws {
        let statusDatabase = store.database("status")
        func update(_ invoiceID: String, _ change: (inout InvoiceStatus) -> Void) throws {
            let key = Array(invoiceID.utf8)
            guard var status = try store.value(forKey: key, in: statusDatabase).flatMap(InvoiceStatus.init(bytes:)) else { return }
            change(&status)
            try store.put(status.bytes, forKey: key, in: statusDatabase)
        }
        switch BillingEventType(rawValue: event.eventType) {
        case .invoiceVoided:
            try update(try Tally_V1_InvoiceVoided(serializedBytes: event.payload).invoiceID) { $0.state = .void }
            return
        case .invoiceMarkedUncollectible:
            try update(try Tally_V1_InvoiceMarkedUncollectible(serializedBytes: event.payload).invoiceID) { $0.state = .uncollectible }
            return
        case .paymentSucceeded:
            try update(try Tally_V1_PaymentSucceeded(serializedBytes: event.payload).invoiceID) { $0.state = .paid }
            return
        case .paymentFailed:
            try update(try Tally_V1_PaymentFailed(serializedBytes: event.payload).invoiceID) { status in
                status.failedAttempts += 1
                if status.firstFailureAt == 0 { status.firstFailureAt = event.envelope.occurredAt.seconds }
            }
            return
        default:
            break
        }
        let invoice = try Tally_V1_InvoiceIssued(serializedBytes: event.payload)
        // An invoice with nothing due is settled as it is issued.
        let settled = invoice.amountDue.minorUnits == 0
        try store.put(InvoiceStatus(state: settled ? .paid : .open).bytes, forKey: Array(invoice.invoiceID.utf8), in: statusDatabase)
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

    /// The organization invoice `series`-`number` was issued to.
    public static func organization(series: String, number: UInt64, in reader: ProjectionReader) throws -> String? {
        try reader.transaction.value(forKey: Array(series.utf8) + [0] + bigEndian(number), in: reader.database("numbers"))
            .map { String(decoding: $0, as: UTF8.self) }
    }

    public static func status(of invoiceID: String, in reader: ProjectionReader) throws -> InvoiceStatus? {
        try reader.transaction.value(forKey: Array(invoiceID.utf8), in: reader.database("status")).flatMap(InvoiceStatus.init(bytes:))
    }

    static func bigEndian(_ value: UInt64) -> [UInt8] {
        withUnsafeBytes(of: value.bigEndian) { Array($0) }
    }
}

/// Where an invoice stands: open until paid, voided or written off; and its failed attempts.
public struct InvoiceStatus: Sendable, Hashable {
    public enum State: UInt8, Sendable {
        case draft = 0, open, paid, void, uncollectible

        public var name: String {
            switch self {
            case .draft: "draft"
            case .open: "open"
            case .paid: "paid"
            case .void: "void"
            case .uncollectible: "uncollectible"
            }
        }
    }

    public var state: State
    public var failedAttempts: UInt32 = 0
    /// Seconds since 1970 of the first failed attempt; 0 when none.
    public var firstFailureAt: Int64 = 0

    init(state: State) {
        self.state = state
    }

    init?(bytes: [UInt8]) {
        guard bytes.count == 13, let state = State(rawValue: bytes[0]) else { return nil }
        self.state = state
        failedAttempts = bytes[1..<5].reduce(0) { $0 << 8 | UInt32($1) }
        firstFailureAt = Int64(bitPattern: bytes[5..<13].reduce(0) { $0 << 8 | UInt64($1) })
    }

    var bytes: [UInt8] {
        [state.rawValue] + withUnsafeBytes(of: failedAttempts.bigEndian) { Array($0) } + withUnsafeBytes(of: UInt64(bitPattern: firstFailureAt).bigEndian) { Array($0) }
    }
}
