public import EventLog
import Foundation
public import LMDB
public import Projections

/// A realistic small read model for rebuild benchmarks: per organization, the number of usage
/// events and the payload bytes seen, and per organization × day an event count.
public struct UsageTotalsProjector: Projector {
    public let name = "usage_totals"
    public let version: UInt32 = 1
    public let eventTypes: Set<String> = ["usage.recorded"]
    public let databases: [String: DatabaseOptions] = ["totals": [], "per_day": []]

    public init() {}

    public func apply(_ event: StoredEvent, to store: ProjectionStore) throws {
        try add(UInt64(event.payload.count), key: Array(event.organizationID.utf8), in: store.database("totals"), store)
        let day = Int(event.occurredAt.timeIntervalSince1970) / 86_400
        try add(
            1, key: Array(event.organizationID.utf8) + [0] + withUnsafeBytes(of: Int64(day).bigEndian) { Array($0) },
            in: store.database("per_day"), store)
    }

    private func add(_ amount: UInt64, key: [UInt8], in database: Database, _ store: ProjectionStore) throws {
        let current =
            try store.value(forKey: key, in: database).map {
                $0.withUnsafeBytes { UInt64(bigEndian: $0.loadUnaligned(as: UInt64.self)) }
            } ?? 0
        try store.put(withUnsafeBytes(of: (current + amount).bigEndian) { Array($0) }, forKey: key, in: database)
    }
}
