import EventLog
import Foundation
import LMDB
import Projections
@_exported import TallyTestSupport

/// A small but real projection: per organization, the total quantity and the number of
/// events per UTC day. Payloads are "quantity=N".
struct UsageTotals: Projector {
    var version: UInt32 = 1
    /// Version 2 counts each quantity twice: a changed projector must be rebuilt.
    var multiplier: UInt64 { UInt64(version) }

    let name = "usage_totals"
    let eventTypes: Set<String> = ["test.usage"]
    let databases: [String: DatabaseOptions] = ["totals": [], "per_day": []]

    func apply(_ event: StoredEvent, to store: ProjectionStore) throws {
        let quantity = UInt64(
            String(decoding: event.payload, as: UTF8.self).split(separator: "=").last.flatMap { UInt64($0) } ?? 0)
        try add(quantity * multiplier, key: Array(event.organizationID.utf8), in: store.database("totals"), store)
        let day = Int(event.occurredAt.timeIntervalSince1970) / 86_400
        try add(1, key: Array("\(event.organizationID)/\(day)".utf8), in: store.database("per_day"), store)
    }

    private func add(_ amount: UInt64, key: [UInt8], in database: Database, _ store: ProjectionStore) throws {
        let current =
            try store.value(forKey: key, in: database).map {
                $0.withUnsafeBytes { UInt64(bigEndian: $0.loadUnaligned(as: UInt64.self)) }
            } ?? 0
        try store.put(withUnsafeBytes(of: (current + amount).bigEndian) { Array($0) }, forKey: key, in: database)
    }

    static func total(_ organization: String, in projections: ProjectionSet) throws -> UInt64 {
        try projections.read("usage_totals") { reader in
            try reader.transaction.value(forKey: Array(organization.utf8), in: reader.database("totals"))
                .map { $0.withUnsafeBytes { UInt64(bigEndian: $0.loadUnaligned(as: UInt64.self)) } } ?? 0
        }
    }
}

enum Fixture {
    static let registry = EventTypeRegistry(["test.usage": 1, "test.other": 1])

    static func directory() -> String {
        ScratchPath.make("projections")
    }

    /// A log in `directory` with `projectors` attached and synchronized.
    static func open(_ directory: String, projectors: [any Projector] = [UsageTotals()], mapSize: Int = 1 << 24) throws
        -> (EventLog, ProjectionSet)
    {
        var environmentOptions = EnvironmentOptions()
        environmentOptions.mapSize = mapSize
        let environment = try Environment.open(at: directory, options: environmentOptions)
        let projections = try ProjectionSet(environment: environment, projectors: projectors)
        var options = EventLogOptions(registry: registry, environment: environmentOptions)
        options.observer = projections
        let log = try EventLog(directory: directory, options: options)
        try projections.synchronize()
        return (log, projections)
    }

    static func usage(_ organization: String, _ quantity: Int, key: String? = nil, day: Int = 0) -> EventDraft {
        EventDraft(
            organizationID: organization, eventType: "test.usage",
            occurredAt: Date(timeIntervalSince1970: 1_760_000_000 + Double(day) * 86_400), idempotencyKey: key,
            payload: Data("quantity=\(quantity)".utf8))
    }

    static func other(_ organization: String) -> EventDraft {
        EventDraft(
            organizationID: organization, eventType: "test.other",
            occurredAt: Date(timeIntervalSince1970: 1_760_000_000), payload: Data("x".utf8))
    }

    /// The totals a projection must hold for `events`, computed from scratch.
    static func expectedTotals(_ events: [StoredEvent], multiplier: UInt64 = 1) -> [String: UInt64] {
        var totals: [String: UInt64] = [:]
        for event in events where event.eventType == "test.usage" {
            totals[event.organizationID, default: 0] +=
                multiplier * (UInt64(String(decoding: event.payload, as: UTF8.self).split(separator: "=").last!) ?? 0)
        }
        return totals
    }
}

/// Comparable form of a dump.
func flatten(_ dump: [String: [([UInt8], [UInt8])]]) -> [String: [[UInt8]]] {
    dump.mapValues { $0.flatMap { [$0.0, $0.1] } }
}
