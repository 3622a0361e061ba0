import Billing
import BillingEvents
public import EventLog
import Foundation
public import LMDB
public import Projections
import SwiftProtobuf
import TallySupport

/// Usage per organization × metric × UTC day, and within each day per user and per resource:
/// what cost attribution, usage charts and forecasts read. Corrections adjust the day, user
/// and resource of the usage they correct.
///
/// | database | key | value |
/// | --- | --- | --- |
/// | `daily` | org, 0, metric, 0, day (4 bytes) | `UsageRollup` (zigzag varints, about 15 bytes) |
/// | `by_user` | daily key, user id | `UsageRollup` |
/// | `by_resource` | daily key, resource id | `UsageRollup` |
/// | `member_journal` | event sequence (8 bytes) | nothing: the event's record in the log says the user's and resource's change, not yet merged |
///
/// The day is days since 1970-01-01 in UTC, big-endian with the sign bit flipped so that keys
/// sort by time.
///
/// **Why a journal.** A commit of a thousand usage events from hundreds of tenants changes a
/// cell or two of each tenant's users and resources, spread over a thousand leaf pages, and
/// LMDB copies and writes every page a commit touches: updating them per commit made them 85%
/// of the engine's disk writes and 40% of its time. So the day's cells are updated with each
/// event, and the member cells' changes are journaled at the end of one table instead, then
/// merged in bulk once the log's head passes into a new block of `journalBlock` sequences:
/// each page is then written once per block, not once per commit. After any commit, the
/// member cells hold every event before the head's block and the journal the rest, so the
/// bytes depend on the log alone, never on how appends were batched (a rebuild of the same
/// log writes the same bytes). Queries add the journal to the cells they read.
///
/// **Why sequences only.** The change itself is in the log's record of the event, in the same
/// environment: the journal keeps each event's sequence, and merges and queries read the rest
/// from the record (`ProjectionStore.forEachLogRecord`). Copies of the changes had been a fifth
/// of the pages each commit of usage wrote, and about 6% of its time.
public struct UsageRollupsProjector: Projector {
    public static let name = "usage_rollups"
    public var name: String { Self.name }
    /// How many sequences a journal block spans. A merge then writes the member cells' pages
    /// once for up to this many events, and a member query reads at most this many entries.
    public static let defaultJournalBlock: UInt64 = 16_384
    public let journalBlock: UInt64
    /// 2: compact rollups; 3: the member journal; 4: a journal of sequences only. Another
    /// block size is another layout.
    public var version: UInt32 { journalBlock == Self.defaultJournalBlock ? 4 : 0xC000_0000 | UInt32(journalBlock) }
    public let eventTypes: Set<String> = [
        BillingEventType.usageRecorded.rawValue, BillingEventType.usageCorrected.rawValue,
    ]
    public let databases: [String: DatabaseOptions] = [
        "daily": [], "by_user": [], "by_resource": [], "member_journal": [],
    ]

    /// `journalBlock` other than the default is for tests, which reach merges with short logs.
    public init(journalBlock: UInt64 = defaultJournalBlock) {
        precondition((1...(1 << 30)).contains(journalBlock), "the journal block is 1 to 2^30 sequences")
        self.journalBlock = journalBlock
    }

    public func apply(_ event: StoredEvent, to store: ProjectionStore) throws {
        _ = try Self.withMemberEntry(
            of: event, usage: { try store.payload(of: event) { try Tally_V1_UsageRecorded(payload: $0) } }
        ) { entry in
            try fold(entry, sequence: event.sequence, store)
        }
    }

    /// The change `event` makes to its day's, user's and resource's cells, given to `body`; nil
    /// (and `body` not called) for an event that is neither usage recorded nor corrected.
    /// `usage` decodes a `usage.recorded` payload.
    static func withMemberEntry<R>(
        of event: StoredEvent, usage: () throws -> Tally_V1_UsageRecorded, _ body: (MemberUsageEntry) throws -> R
    ) throws -> R? {
        let metric: String
        let user: String
        let resource: String
        let occurredAt: Google_Protobuf_Timestamp
        let change: UsageChange
        switch event.eventType {
        case BillingEventType.usageRecorded.rawValue:
            let usage = try usage()
            (metric, user, resource, occurredAt) = (
                usage.metric, usage.userID, usage.resourceID, event.envelope.occurredAt
            )
            change = .record(usage.quantity, at: QuotasProjector.nanoseconds(occurredAt))
        case BillingEventType.usageCorrected.rawValue:
            let correction = try Tally_V1_UsageCorrected(serializedBytes: event.payload)
            (metric, user, resource, occurredAt) = (
                correction.metric, correction.userID, correction.resourceID, correction.originalOccurredAt
            )
            change = .correct(correction.quantityDelta)
        default:
            return nil
        }
        return try KeyWriter.withUTF8(event.organizationID, metric) { organization, metric in
            try KeyWriter.withUTF8(user, resource) { user, resource in
                try body(
                    MemberUsageEntry(
                        change: change, day: UTCDay.number(of: occurredAt.seconds), organization: organization,
                        metric: metric, user: user, resource: resource))
            }
        }
    }

    /// The same for an event's stored record (hash, then envelope), read in place when it is
    /// usage recorded as the engine writes it, as `applyInPlace` reads it.
    static func withMemberEntry<R>(ofRecord record: UnsafeRawBufferPointer, _ body: (MemberUsageEntry) throws -> R)
        throws -> R?
    {
        if let view = EventRecordView(record: record), Self.isUsageRecorded(view.eventType),
            let usage = UsageRecordedView(payload: view.payload)
        {
            return try body(
                MemberUsageEntry(
                    change: .record(usage.quantity, at: view.occurredAtNanoseconds),
                    day: UTCDay.number(of: view.occurredAtSeconds),
                    organization: view.organizationID, metric: usage.metric, user: usage.userID,
                    resource: usage.resourceID))
        }
        let event = try StoredEvent(record: record)
        return try withMemberEntry(of: event, usage: { try Tally_V1_UsageRecorded(payload: event.payload) }, body)
    }

    private static let usageRecordedType = Array(BillingEventType.usageRecorded.rawValue.utf8)

    /// Compared as bytes: a string's UTF-8 view compared element by element was a twentieth
    /// of a merge.
    private static func isUsageRecorded(_ eventType: UnsafeRawBufferPointer) -> Bool {
        eventType.count == usageRecordedType.count
            && usageRecordedType.withUnsafeBytes {
                memcmp($0.baseAddress!, eventType.baseAddress!, eventType.count) == 0
            }
    }

    public var inPlaceEventTypes: Set<String> { [BillingEventType.usageRecorded.rawValue] }

    /// Usage as `apply` folds it, read in place (rebuilds). The quota projector parses the
    /// same payload: sharing the view through the store's decoded box measured slower than
    /// parsing its few fields twice.
    public func applyInPlace(_ event: EventRecordView, to store: ProjectionStore) throws -> Bool {
        guard let usage = UsageRecordedView(payload: event.payload) else { return false }
        try fold(
            MemberUsageEntry(
                change: .record(usage.quantity, at: event.occurredAtNanoseconds),
                day: UTCDay.number(of: event.occurredAtSeconds),
                organization: event.organizationID, metric: usage.metric, user: usage.userID, resource: usage.resourceID
            ),
            sequence: event.sequence, store)
        return true
    }

    public var settles: Bool { true }

    /// The journal names events at most a block back from the last one folded.
    public var logRecordsRead: UInt64 { journalBlock }

    /// Merges the journal's entries from blocks before `sequence`'s into the member cells,
    /// reading each event's change from its record in the log.
    public func settle(through sequence: UInt64, in store: ProjectionStore) throws {
        let (byUser, byResource) = (store.database("by_user"), store.database("by_resource"))
        var sequences: [UInt64] = []
        try store.drainJournal(store.database("member_journal"), below: blockStart(of: sequence)) { journaled, bytes in
            guard bytes.isEmpty else {
                throw BillingError.invalid(
                    field: "usage_rollups.member_journal",
                    rule: "entry \(journaled) holds \(bytes.count) bytes; entries are sequences only")
            }
            sequences.append(journaled)
        }
        // Each fold builds its keys from the record before it writes, and writes to the cache.
        try store.forEachLogRecord(at: sequences) { journaled, record in
            guard let record,
                try Self.withMemberEntry(
                    ofRecord: record, { try fold($0, day: nil, users: byUser, resources: byResource, store) }) != nil
            else {
                throw BillingError.invalid(
                    field: "usage_rollups.member_journal", rule: "entry \(journaled) names no usage event of the log")
            }
        }
    }

    /// The first sequence of `sequence`'s journal block.
    func blockStart(of sequence: UInt64) -> UInt64 {
        sequence / journalBlock * journalBlock
    }

    /// One event's change to the day's cell; and to its user's and its resource's (when it
    /// names them): straight away when a later block's merge is sure to come before anyone
    /// reads the projection (rebuilds, catch-ups, snapshots: `ProjectionStore.lastSequence`), else
    /// journaled for that merge (its sequence: the change is in the event's record).
    private func fold(_ entry: MemberUsageEntry, sequence: UInt64, _ store: ProjectionStore) throws {
        let hasMembers = !entry.user.isEmpty || !entry.resource.isEmpty
        if hasMembers, let last = store.lastSequence, sequence < blockStart(of: last) {
            return try fold(
                entry, day: store.database("daily"), users: store.database("by_user"),
                resources: store.database("by_resource"), store)
        }
        try fold(entry, day: store.database("daily"), users: nil, resources: nil, store)
        guard hasMembers else { return }
        try store.journal(0, sequence: sequence, in: store.database("member_journal")) { _ in }
    }

    /// The entry's change to its day's cell (in `day`, if given) and to its user's and its
    /// resource's (in `users` and `resources`, if given, and if the entry names them). The
    /// keys are built in one buffer on the stack: the day's, then the same bytes with the user
    /// or the resource after them.
    private func fold(
        _ entry: MemberUsageEntry, day: Database?, users: Database?, resources: Database?, _ store: ProjectionStore
    ) throws {
        let none = UnsafeRawBufferPointer(start: nil, count: 0)
        let user = users == nil ? none : entry.user
        let resource = resources == nil ? none : entry.resource
        let dayKeyCount = entry.organization.count + entry.metric.count + 6
        try withUnsafeTemporaryAllocation(byteCount: 2 * dayKeyCount + user.count + resource.count, alignment: 8) {
            buffer in
            var userKey = KeyWriter(UnsafeMutableRawBufferPointer(rebasing: buffer[..<(dayKeyCount + user.count)]))
            Self.writeDailyKey(&userKey, entry.organization, entry.metric, day: entry.day)
            userKey.append(user)
            var resourceKey = KeyWriter(UnsafeMutableRawBufferPointer(rebasing: buffer[(dayKeyCount + user.count)...]))
            Self.writeDailyKey(&resourceKey, entry.organization, entry.metric, day: entry.day)
            resourceKey.append(resource)
            // The member cells are many and cold; the day's few and hot: fetch the former first.
            if let users, !user.isEmpty { store.prefetch(forKey: userKey.key, in: users) }
            if let resources, !resource.isEmpty { store.prefetch(forKey: resourceKey.key, in: resources) }
            if let day {
                try update(
                    UnsafeRawBufferPointer(rebasing: userKey.key[..<dayKeyCount]), day: entry.day, in: day, store,
                    entry.change)
            }
            if let users, !user.isEmpty { try update(userKey.key, day: entry.day, in: users, store, entry.change) }
            if let resources, !resource.isEmpty {
                try update(resourceKey.key, day: entry.day, in: resources, store, entry.change)
            }
        }
    }

    private func update(
        _ key: UnsafeRawBufferPointer, day: Int32, in database: Database, _ store: ProjectionStore,
        _ change: UsageChange
    ) throws {
        try store.update(upTo: UsageRollup.maximumSize, forKey: key, in: database) { old, new in
            var rollup = old.flatMap { UsageRollup(buffer: $0, day: day) } ?? UsageRollup()
            change.apply(to: &rollup)
            return rollup.write(to: new, day: day)
        }
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
    static func writeDailyKey(
        _ key: inout KeyWriter, _ organizationID: UnsafeRawBufferPointer, _ metric: UnsafeRawBufferPointer, day: Int32
    ) {
        key.append(organizationID)
        key.append(0)
        key.append(metric)
        key.append(0)
        key.append(bigEndian: UInt32(bitPattern: day) ^ 0x8000_0000)
    }

    static func dayNumber(_ bytes: ArraySlice<UInt8>) -> Int32 {
        Int32(bitPattern: bytes.reduce(0) { $0 << 8 | UInt32($1) } ^ 0x8000_0000)
    }

}
