import BillingEvents
public import EventLog
public import Foundation
public import LMDB
public import Projections
import SwiftProtobuf

/// Usage per organization × metric × UTC day, and within each day per user and per resource:
/// what cost attribution, usage charts and forecasts read. Corrections adjust the day, user
/// and resource of the usage they correct.
///
/// | database | key | value |
/// | --- | --- | --- |
/// | `daily` | org, 0, metric, 0, day (4 bytes) | `UsageRollup` (zigzag varints, about 15 bytes) |
/// | `by_user` | daily key, user id | `UsageRollup` |
/// | `by_resource` | daily key, resource id | `UsageRollup` |
///
/// The day is days since 1970-01-01 in UTC, big-endian with the sign bit flipped so that keys
/// sort by time.
public struct UsageRollupsProjector: Projector {
    public static let name = "usage_rollups"
    public var name: String { Self.name }
    public let version: UInt32 = 2  // 2: compact rollups
    public let eventTypes: Set<String> = [BillingEventType.usageRecorded.rawValue, BillingEventType.usageCorrected.rawValue]
    public let databases: [String: DatabaseOptions] = ["daily": [], "by_user": [], "by_resource": []]

    public init() {}

    public func apply(_ event: StoredEvent, to store: ProjectionStore) throws {
        let metric: String, user: String, resource: String, occurredAt: Google_Protobuf_Timestamp
        let change: Change
        if event.eventType == BillingEventType.usageRecorded.rawValue {
            let usage = try store.payload(of: event) { try Tally_V1_UsageRecorded(payload: $0) }
            (metric, user, resource, occurredAt) = (usage.metric, usage.userID, usage.resourceID, event.envelope.occurredAt)
            change = .record(usage.quantity, at: QuotasProjector.nanoseconds(occurredAt))
        } else {
            let correction = try Tally_V1_UsageCorrected(serializedBytes: event.payload)
            (metric, user, resource, occurredAt) = (correction.metric, correction.userID, correction.resourceID, correction.originalOccurredAt)
            change = .correct(correction.quantityDelta)
        }
        try KeyWriter.withUTF8(event.organizationID, metric) { organization, metric in
            try KeyWriter.withUTF8(user, resource) { user, resource in
                try fold(organization, metric, user: user, resource: resource, day: Self.day(of: occurredAt.seconds), change, store)
            }
        }
    }

    public var inPlaceEventTypes: Set<String> { [BillingEventType.usageRecorded.rawValue] }

    /// Usage as `apply` folds it, read in place (rebuilds). The quota projector parses the
    /// same payload: sharing the view through the store's decoded box measured slower than
    /// parsing its few fields twice.
    public func applyInPlace(_ event: EventRecordView, to store: ProjectionStore) throws -> Bool {
        guard let usage = UsageRecordedView(payload: event.payload) else { return false }
        try fold(
            event.organizationID, usage.metric, user: usage.userID, resource: usage.resourceID, day: Self.day(of: event.occurredAtSeconds),
            .record(usage.quantity, at: event.occurredAtNanoseconds), store)
        return true
    }

    /// One event's change to the day's cell, and to its user's and its resource's (when it
    /// names them). The keys are built in one buffer on the stack: the day's, then the same
    /// bytes with the user or the resource after them.
    private func fold(
        _ organization: UnsafeRawBufferPointer, _ metric: UnsafeRawBufferPointer, user: UnsafeRawBufferPointer, resource: UnsafeRawBufferPointer,
        day: Int32, _ change: Change, _ store: ProjectionStore
    ) throws {
        let dayKeyCount = organization.count + metric.count + 6
        let (daily, byUser, byResource) = (store.database("daily"), store.database("by_user"), store.database("by_resource"))
        try withUnsafeTemporaryAllocation(byteCount: 2 * dayKeyCount + user.count + resource.count, alignment: 8) { buffer in
            var userKey = KeyWriter(UnsafeMutableRawBufferPointer(rebasing: buffer[..<(dayKeyCount + user.count)]))
            Self.writeDailyKey(&userKey, organization, metric, day: day)
            userKey.append(user)
            var resourceKey = KeyWriter(UnsafeMutableRawBufferPointer(rebasing: buffer[(dayKeyCount + user.count)...]))
            Self.writeDailyKey(&resourceKey, organization, metric, day: day)
            resourceKey.append(resource)
            // The member cells are many and cold; the day's few and hot: fetch the former first.
            if !user.isEmpty { store.prefetch(forKey: userKey.key, in: byUser) }
            if !resource.isEmpty { store.prefetch(forKey: resourceKey.key, in: byResource) }
            try update(UnsafeRawBufferPointer(rebasing: userKey.key[..<dayKeyCount]), day: day, in: daily, store, change)
            if !user.isEmpty { try update(userKey.key, day: day, in: byUser, store, change) }
            if !resource.isEmpty { try update(resourceKey.key, day: day, in: byResource, store, change) }
        }
    }

    /// What one event does to each of its cells.
    private enum Change {
        case record(Int64, at: Int64)
        case correct(Int64)
    }

    private func update(_ key: UnsafeRawBufferPointer, day: Int32, in database: Database, _ store: ProjectionStore, _ change: Change) throws {
        try store.update(upTo: UsageRollup.maximumSize, forKey: key, in: database) { old, new in
            var rollup = old.flatMap { UsageRollup(buffer: $0, day: day) } ?? UsageRollup()
            switch change {
            case .record(let quantity, let at): rollup.record(quantity, at: at)
            case .correct(let delta): rollup.correct(by: delta)
            }
            return rollup.write(to: new, day: day)
        }
    }

    // MARK: Queries

    public enum Breakdown: String, Sendable, CaseIterable {
        case day, user, resource
    }

    /// One row of a usage query: a day (`key` is its date, yyyy-MM-dd), a user or a resource.
    public struct Row: Sendable, Hashable {
        public var metric: String
        public var key: String
        public var rollup: UsageRollup
    }

    /// Usage of `organizationID` on the UTC days from `from` up to and including `to`, per
    /// metric (or just `metric`), broken down by day, user or resource; sorted by metric and key.
    public static func rows(
        _ organizationID: String, metric: String?, fromDay: Int32, toDay: Int32, by breakdown: Breakdown, in reader: ProjectionReader
    ) throws -> [Row] {
        let prefix = Array(organizationID.utf8) + [0] + (metric.map { Array($0.utf8) + [0] } ?? [])
        let database = reader.database(breakdown == .day ? "daily" : breakdown == .user ? "by_user" : "by_resource")
        var totals: [Row] = []
        var index: [String: [String: Int]] = [:]
        try reader.transaction.withCursor(on: database) { cursor in
            var entry = try prefix.withUnsafeBytes { try cursor.seek(atOrAfter: $0) }
            while let current = entry {
                let key = Array(current.key)
                guard key.starts(with: prefix) else { break }
                // org 0 metric 0 day(4) [member]
                let rest = key[(organizationID.utf8.count + 1)...]
                guard let zero = rest.firstIndex(of: 0), key.count >= zero + 5 else { break }
                let rowMetric = String(decoding: rest[..<zero], as: UTF8.self)
                let day = dayNumber(key[(zero + 1)..<(zero + 5)])
                if day >= fromDay, day <= toDay, let rollup = UsageRollup(buffer: current.value, day: day) {
                    let member = breakdown == .day ? dayString(day) : String(decoding: key[(zero + 5)...], as: UTF8.self)
                    if let position = index[rowMetric]?[member] {
                        totals[position].rollup.merge(rollup)
                    } else {
                        index[rowMetric, default: [:]][member] = totals.count
                        totals.append(Row(metric: rowMetric, key: member, rollup: rollup))
                    }
                }
                entry = try cursor.next()
            }
        }
        return totals.sorted { ($0.metric, $0.key) < ($1.metric, $1.key) }
    }

    /// One cell of the rollups: a metric on a day, for a member (user or resource; empty for
    /// the day's total).
    public struct Cell: Sendable, Hashable {
        public var metric: String
        public var day: Int32
        public var member: String
        public var rollup: UsageRollup
    }

    /// The cells of `organizationID` on the UTC days `fromDay` through `toDay`, unmerged, in
    /// one pass over its keys: what trends and forecasts read day by day.
    public static func cells(
        _ organizationID: String, metric: String? = nil, fromDay: Int32, toDay: Int32, by breakdown: Breakdown, in reader: ProjectionReader
    ) throws -> [Cell] {
        let prefix = Array(organizationID.utf8) + [0] + (metric.map { Array($0.utf8) + [0] } ?? [])
        let database = reader.database(breakdown == .day ? "daily" : breakdown == .user ? "by_user" : "by_resource")
        var cells: [Cell] = []
        // With a metric, days are next in the key: start at the first day and stop after the last.
        let start = metric == nil ? prefix : dailyKey(organizationID, metric!, day: fromDay)
        try reader.transaction.withCursor(on: database) { cursor in
            var entry = try start.withUnsafeBytes { try cursor.seek(atOrAfter: $0) }
            while let current = entry {
                let key = Array(current.key)
                guard key.starts(with: prefix) else { break }
                let rest = key[(organizationID.utf8.count + 1)...]
                guard let zero = rest.firstIndex(of: 0), key.count >= zero + 5 else { break }
                let day = dayNumber(key[(zero + 1)..<(zero + 5)])
                if metric != nil, day > toDay { break }
                if day >= fromDay, day <= toDay, let rollup = UsageRollup(buffer: current.value, day: day) {
                    cells.append(Cell(
                        metric: String(decoding: rest[..<zero], as: UTF8.self), day: day,
                        member: String(decoding: key[(zero + 5)...], as: UTF8.self), rollup: rollup))
                }
                entry = try cursor.next()
            }
        }
        return cells
    }

    // MARK: Keys

    /// org, 0, metric, 0, day (4 bytes), then the member (user or resource) if any: for
    /// queries; `apply` writes the same on the stack.
    static func dailyKey(_ organizationID: String, _ metric: String, day: Int32, member: String = "") -> [UInt8] {
        KeyWriter.withUTF8(organizationID, metric) { organizationID, metric in
            KeyWriter.bytes(capacity: organizationID.count + metric.count + member.utf8.count + 6) { key in
                writeDailyKey(&key, organizationID, metric, day: day)
                key.append(member)
            }
        }
    }

    /// The day's key (org, 0, metric, 0, biased day), without a member.
    static func writeDailyKey(_ key: inout KeyWriter, _ organizationID: UnsafeRawBufferPointer, _ metric: UnsafeRawBufferPointer, day: Int32) {
        key.append(organizationID)
        key.append(0)
        key.append(metric)
        key.append(0)
        key.append(bigEndian: UInt32(bitPattern: day) ^ 0x8000_0000)
    }

    /// Days since 1970-01-01 (UTC) of a moment `seconds` after it, rounded down.
    public static func day(of seconds: Int64) -> Int32 {
        Int32(clamping: seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400)
    }

    public static func day(of date: Date) -> Int32 {
        day(of: Int64(date.timeIntervalSince1970.rounded(.down)))
    }

    static func dayNumber(_ bytes: ArraySlice<UInt8>) -> Int32 {
        Int32(bitPattern: bytes.reduce(0) { $0 << 8 | UInt32($1) } ^ 0x8000_0000)
    }

    static func dayString(_ day: Int32) -> String {
        Date(timeIntervalSince1970: TimeInterval(day) * 86_400).formatted(.iso8601.year().month().day())
    }
}
