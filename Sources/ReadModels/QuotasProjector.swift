public import BillingEvents
public import EventLog
import Foundation
public import LMDB
public import Projections
public import SwiftProtobuf
import TallySupport

/// Usage counters per organization × metric × period, with configured limit overrides and
/// which limits were reached: what "may this organization do this?" reads.
///
/// | database | key | value |
/// | --- | --- | --- |
/// | `counters` | org, 0, metric, 0, period start (8 bytes, big-endian seconds) | `QuotaCounter` (17 bytes) |
/// | `members` | counter key, 0, member | empty: the distinct values a unique count has seen |
/// | `limits` | org, 0, metric | configured soft and hard limits (18 bytes) |
/// | `corrections` | sequence of a usage.recorded (8 bytes, big-endian) | the net of its corrections (8 bytes, big-endian two's complement) |
public struct QuotasProjector: Projector {
    public static let name = "quotas"
    public var name: String { Self.name }
    public let version: UInt32 = 2
    public let eventTypes: Set<String> = Set(
        [
            BillingEventType.usageRecorded, .usageCorrected, .quotaConfigured, .quotaRemoved, .softLimitReached,
            .hardLimitReached,
        ].map(\.rawValue))
    public let databases: [String: DatabaseOptions] = ["counters": [], "members": [], "limits": [], "corrections": []]

    public init() {}

    public func apply(_ event: StoredEvent, to store: ProjectionStore) throws {
        // Usage is most of any log: recognized by one comparison, before the general switch.
        // not in the switch
        if event.eventType == BillingEventType.usageRecorded.rawValue { return try applyUsage(event, to: store) }
        let txn = store
        switch BillingEventType(rawValue: event.eventType) {
        case .usageCorrected:
            // Only sums are corrected (the engine refuses others): the delta adds to the counter.
            let correction = try Tally_V1_UsageCorrected(serializedBytes: event.payload)
            let key = Self.counterKey(
                event.organizationID, correction.metric, periodStart: correction.periodStart.seconds)
            var counter =
                try txn.value(forKey: key, in: store.database("counters")).flatMap(QuotaCounter.init(bytes:))
                ?? QuotaCounter()
            counter.value =
                counter.value.addingReportingOverflow(correction.quantityDelta).overflow
                ? .max : counter.value + correction.quantityDelta
            try txn.put(counter.bytes, forKey: key, in: store.database("counters"))
            let original = Self.int64Bytes(Int64(bitPattern: correction.originalSequence))
            let net = try txn.value(forKey: original, in: store.database("corrections")).map(Self.int64) ?? 0
            try txn.put(
                Self.int64Bytes(net &+ correction.quantityDelta), forKey: original, in: store.database("corrections"))
        case .softLimitReached, .hardLimitReached:
            let reached = try Tally_V1_LimitReached(serializedBytes: event.payload)
            let key = Self.counterKey(event.organizationID, reached.metric, periodStart: reached.periodStart.seconds)
            var counter =
                try txn.value(forKey: key, in: store.database("counters")).flatMap(QuotaCounter.init(bytes:))
                ?? QuotaCounter()
            if event.eventType == BillingEventType.softLimitReached.rawValue {
                counter.softLimitReached = true
            } else {
                counter.hardLimitReached = true
            }
            try txn.put(counter.bytes, forKey: key, in: store.database("counters"))
        case .quotaConfigured:
            let configured = try Tally_V1_QuotaConfigured(serializedBytes: event.payload)
            let limits = QuotaLimits(
                soft: configured.hasSoftLimit ? configured.softLimit : nil,
                hard: configured.hasHardLimit ? configured.hardLimit : nil)
            try txn.put(
                limits.bytes, forKey: Self.limitsKey(event.organizationID, configured.metric),
                in: store.database("limits"))
        case .quotaRemoved:
            let removed = try Tally_V1_QuotaRemoved(serializedBytes: event.payload)
            try txn.delete(key: Self.limitsKey(event.organizationID, removed.metric), in: store.database("limits"))
        default:
            return
        }
    }

    private func applyUsage(_ event: StoredEvent, to store: ProjectionStore) throws {
        let usage = try store.payload(of: event) { try Tally_V1_UsageRecorded(payload: $0) }
        try KeyWriter.withUTF8(event.organizationID, usage.metric) { organization, metric in
            var isNewMember = false
            if usage.aggregation == .uniqueCount, var member = Self.member(of: usage) {
                isNewMember = try member.withUTF8 {
                    try recordMember(
                        organization, metric, periodStart: usage.periodStart.seconds,
                        member: UnsafeRawBufferPointer($0), store)
                }
            }
            try foldCounter(
                organization, metric, periodStart: usage.periodStart.seconds, usage.aggregation, usage.quantity,
                occurredAt: Self.nanoseconds(event.envelope.occurredAt), isNewMember: isNewMember, store)
        }
    }

    public var inPlaceEventTypes: Set<String> { [BillingEventType.usageRecorded.rawValue] }

    /// Usage as `apply` folds it, read in place (appends and rebuilds). Unique counts too:
    /// the view takes no payload with properties, so the member is the user when the metric
    /// counts users (`member(of:)`), and there is none otherwise.
    public func applyInPlace(_ event: EventRecordView, to store: ProjectionStore) throws -> Bool {
        guard let usage = UsageRecordedView(payload: event.payload) else { return false }
        var isNewMember = false
        if usage.aggregation == .uniqueCount, usage.uniqueProperty.elementsEqual("user".utf8), !usage.userID.isEmpty {
            isNewMember = try recordMember(
                event.organizationID, usage.metric, periodStart: usage.periodStartSeconds, member: usage.userID, store)
        }
        try foldCounter(
            event.organizationID, usage.metric, periodStart: usage.periodStartSeconds, usage.aggregation,
            usage.quantity,
            occurredAt: event.occurredAtNanoseconds, isNewMember: isNewMember, store)
        return true
    }

    /// Records `member` of the counter's period (its key: `memberKey`'s, built on the stack)
    /// and says whether it is new there.
    private func recordMember(
        _ organization: UnsafeRawBufferPointer, _ metric: UnsafeRawBufferPointer, periodStart: Int64,
        member: UnsafeRawBufferPointer,
        _ store: ProjectionStore
    ) throws -> Bool {
        try withUnsafeTemporaryAllocation(
            byteCount: organization.count + metric.count + 11 + member.count, alignment: 8
        ) { buffer in
            var key = KeyWriter(buffer)
            Self.writeCounterKey(&key, organization, metric, periodStart: periodStart)
            key.append(0)
            key.append(member)
            let members = store.database("members")
            guard try store.withValue(forKey: key.key, in: members, { $0 == nil }) else { return false }
            try store.put(0, forKey: key.key, in: members) { _ in }
            return true
        }
    }

    /// One usage event's change to its counter, read and written in one step; the key on the stack.
    private func foldCounter(
        _ organization: UnsafeRawBufferPointer, _ metric: UnsafeRawBufferPointer, periodStart: Int64,
        _ aggregation: Tally_V1_Aggregation,
        _ quantity: Int64, occurredAt: Int64, isNewMember: Bool, _ store: ProjectionStore
    ) throws {
        try withUnsafeTemporaryAllocation(byteCount: organization.count + metric.count + 10, alignment: 8) { buffer in
            var key = KeyWriter(buffer)
            Self.writeCounterKey(&key, organization, metric, periodStart: periodStart)
            try store.update(QuotaCounter.size, forKey: key.key, in: store.database("counters")) { old, new in
                let next = QuotaCounter.folding(
                    old.flatMap(QuotaCounter.init(buffer:)), aggregation: aggregation, quantity: quantity,
                    occurredAt: occurredAt, isNewMember: isNewMember)
                next.write(to: new)
            }
        }
    }

    // MARK: Queries, through any transaction

    public static func counter(
        _ organizationID: String, _ metric: String, periodStart: Int64, in reader: ProjectionReader
    ) throws -> QuotaCounter? {
        try reader.transaction.value(
            forKey: counterKey(organizationID, metric, periodStart: periodStart), in: reader.database("counters")
        )
        .flatMap(QuotaCounter.init(bytes:))
    }

    public static func hasMember(_ memberKey: [UInt8], in reader: ProjectionReader) throws -> Bool {
        try reader.transaction.value(forKey: memberKey, in: reader.database("members")) != nil
    }

    /// The key under which a unique count remembers that it has seen `member`.
    public static func memberKey(_ organizationID: String, _ metric: String, periodStart: Int64, member: String)
        -> [UInt8]
    {
        counterKey(organizationID, metric, periodStart: periodStart) + [0] + Array(member.utf8)
    }

    public static func configuredLimits(_ organizationID: String, _ metric: String, in reader: ProjectionReader) throws
        -> QuotaLimits?
    {
        try reader.transaction.value(forKey: limitsKey(organizationID, metric), in: reader.database("limits")).flatMap(
            QuotaLimits.init(bytes:))
    }

    /// The net of the corrections made so far to the usage.recorded event at `sequence`.
    public static func netCorrection(ofUsageAt sequence: UInt64, in reader: ProjectionReader) throws -> Int64 {
        try reader.transaction.value(
            forKey: int64Bytes(Int64(bitPattern: sequence)), in: reader.database("corrections")
        ).map(int64) ?? 0
    }

    static func int64Bytes(_ value: Int64) -> [UInt8] {
        withUnsafeBytes(of: UInt64(bitPattern: value).bigEndian) { Array($0) }
    }

    static func int64(_ bytes: [UInt8]) -> Int64 {
        Int64(bitPattern: bytes.prefix(8).reduce(0) { $0 << 8 | UInt64($1) })
    }

    /// The value whose distinct occurrences a unique count counts: the user for "user",
    /// else the named property. Nil when the event has none (it then counts nothing).
    public static func member(of usage: Tally_V1_UsageRecorded) -> String? {
        let value = usage.uniqueProperty == "user" ? usage.userID : usage.properties[usage.uniqueProperty] ?? ""
        return value.isEmpty ? nil : value
    }

    /// org, 0, metric, 0, period start (8 bytes, big-endian): for queries; `apply` writes the same on the stack.
    static func counterKey(_ organizationID: String, _ metric: String, periodStart: Int64) -> [UInt8] {
        KeyWriter.withUTF8(organizationID, metric) { organizationID, metric in
            KeyWriter.bytes(capacity: organizationID.count + metric.count + 10) {
                writeCounterKey(&$0, organizationID, metric, periodStart: periodStart)
            }
        }
    }

    /// org, 0, metric, 0, period start (8 bytes).
    static func writeCounterKey(
        _ key: inout KeyWriter, _ organizationID: UnsafeRawBufferPointer, _ metric: UnsafeRawBufferPointer,
        periodStart: Int64
    ) {
        key.append(organizationID)
        key.append(0)
        key.append(metric)
        key.append(0)
        key.append(bigEndian: UInt64(bitPattern: periodStart))
    }

    static func limitsKey(_ organizationID: String, _ metric: String) -> [UInt8] {
        Array(organizationID.utf8) + [0] + Array(metric.utf8)
    }

    /// Nanoseconds since 1970: how `latest` orders events by occurrence.
    public static func nanoseconds(_ timestamp: Google_Protobuf_Timestamp) -> Int64 {
        timestamp.seconds &* 1_000_000_000 &+ Int64(timestamp.nanos)
    }
}

/// One organization × metric × period.
public struct QuotaCounter: Sendable, Equatable {
    /// The aggregated quantity: a sum, a count, a maximum, the latest value, or distinct members.
    public var value: Int64 = 0
    /// For `latest`: the occurrence time (ns since 1970) of the value kept.
    public var latestAt: Int64 = .min
    public var softLimitReached = false
    public var hardLimitReached = false

    public init() {}

    /// The counter after one more event: the single aggregation rule that the projection and
    /// the engine's limit check both use. Saturates instead of overflowing.
    public static func folding(
        _ current: QuotaCounter?, aggregation: Tally_V1_Aggregation, quantity: Int64, occurredAt: Int64,
        isNewMember: Bool
    ) -> QuotaCounter {
        var counter = current ?? QuotaCounter()
        switch aggregation {
        case .sum, .unspecified, .UNRECOGNIZED:
            counter.value = counter.value.addingReportingOverflow(quantity).overflow ? .max : counter.value + quantity
        case .count: counter.value += 1
        case .max: counter.value = current == nil ? quantity : max(counter.value, quantity)
        case .latest:
            if occurredAt >= counter.latestAt {
                counter.value = quantity
                counter.latestAt = occurredAt
            }
        case .uniqueCount: if isNewMember { counter.value += 1 }
        }
        return counter
    }

    /// Value and latest-at as big-endian 64-bit integers, then a flags byte.
    static let size = 17

    init?(bytes: [UInt8]) {
        guard let counter = bytes.withUnsafeBytes({ QuotaCounter(buffer: $0) }) else { return nil }
        self = counter
    }

    init?(buffer: UnsafeRawBufferPointer) {
        guard buffer.count == Self.size else { return nil }
        value = Int64(bigEndian: buffer.loadUnaligned(fromByteOffset: 0, as: Int64.self))
        latestAt = Int64(bigEndian: buffer.loadUnaligned(fromByteOffset: 8, as: Int64.self))
        softLimitReached = buffer[16] & 1 != 0
        hardLimitReached = buffer[16] & 2 != 0
    }

    func write(to buffer: UnsafeMutableRawBufferPointer) {
        buffer.storeBytes(of: value.bigEndian, toByteOffset: 0, as: Int64.self)
        buffer.storeBytes(of: latestAt.bigEndian, toByteOffset: 8, as: Int64.self)
        buffer[16] = (softLimitReached ? 1 : 0) | (hardLimitReached ? 2 : 0)
    }

    var bytes: [UInt8] {
        withUnsafeBytes(of: UInt64(bitPattern: value).bigEndian) { Array($0) }
            + withUnsafeBytes(of: UInt64(bitPattern: latestAt).bigEndian) { Array($0) }
            + [(softLimitReached ? 1 : 0) | (hardLimitReached ? 2 : 0)]
    }
}

/// Limits configured for one organization and metric, overriding the plan's.
public struct QuotaLimits: Sendable, Equatable {
    public var soft: Int64?
    public var hard: Int64?

    public init(soft: Int64?, hard: Int64?) {
        self.soft = soft
        self.hard = hard
    }

    init?(bytes: [UInt8]) {
        guard bytes.count == 18 else { return nil }
        let read = { (range: Range<Int>) in Int64(bitPattern: bytes[range].reduce(0) { $0 << 8 | UInt64($1) }) }
        soft = bytes[0] == 1 ? read(1..<9) : nil
        hard = bytes[9] == 1 ? read(10..<18) : nil
    }

    var bytes: [UInt8] {
        let encode = { (value: Int64?) in
            [value == nil ? 0 : 1] + withUnsafeBytes(of: UInt64(bitPattern: value ?? 0).bigEndian) { Array($0) }
        }
        return encode(soft) + encode(hard)
    }
}
