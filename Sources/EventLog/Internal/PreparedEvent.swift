import Foundation
import LMDB
import SwiftProtobuf
import TallySupport

/// A validated draft with its envelope bytes serialized as far as the caller can: everything
/// but `sequence` (field 1), `recorded_at` (3) and `previous_hash` (12), which only the
/// commit knows. Preparing runs on the appending task, so the writer thread only splices.
///
/// Protobuf's encoding of a message is its fields' encodings in field-number order, so
/// field 1, then `occurredAtField` (2), then the commit's `recorded_at` (3), then
/// `bodyFields` (4 to 11), then field 12 is byte for byte what SwiftProtobuf would write for
/// the whole envelope. `EnvelopeSplicingTests` checks exactly that.
///
/// A class: the writer passes each event down through a chunk's checks and writes, and copying
/// a struct of a draft and three arrays retained and released every field they hold, each time.
final class PreparedEvent: Sendable {
    let draft: EventDraft
    let occurredAtField: [UInt8]
    let bodyFields: [UInt8]
    /// The `idempotency` database key, when the draft has an idempotency key, hashed here
    /// rather than on the writer thread.
    let idempotencyIndexKey: IndexKey?

    init(_ draft: EventDraft) {
        self.draft = draft
        var occurred = ProtobufWriter(capacity: 16)
        occurred.timestampField(2, Google_Protobuf_Timestamp(date: draft.occurredAt))
        occurredAtField = occurred.bytes
        var body = ProtobufWriter(
            capacity: 48 + draft.payload.count + draft.organizationID.utf8.count + draft.eventType.utf8.count
                + (draft.idempotencyKey?.utf8.count ?? 0) + draft.actor.utf8.count + draft.correlationID.utf8.count
                + draft.causationID.utf8.count)
        body.stringField(4, draft.organizationID)
        body.stringField(5, draft.eventType)
        body.varintField(6, UInt64(draft.schemaVersion))
        body.stringField(7, draft.idempotencyKey ?? "")
        body.stringField(8, draft.actor)
        body.stringField(9, draft.correlationID)
        body.stringField(10, draft.causationID)
        body.bytesField(11, draft.payload)
        bodyFields = body.bytes
        idempotencyIndexKey = draft.idempotencyKey.map {
            IndexKey(LogKeys.idempotency(organizationID: draft.organizationID, key: $0))
        }
    }
}

extension PreparedEvent {
    /// Prepares `drafts`, in order. On the writer thread, where every appender waits, a long
    /// run is split in two, the second half prepared on another core.
    static func preparing(_ drafts: [EventDraft], onWriterThread: Bool) -> [PreparedEvent] {
        guard onWriterThread, drafts.count >= 256, HelperThreads.haveSecondCore else {
            return drafts.map(PreparedEvent.init)
        }
        let middle = drafts.count / 2
        let secondHalf = HelperThreads.start { drafts[middle...].map(PreparedEvent.init) }
        var prepared = drafts[..<middle].map(PreparedEvent.init)
        prepared.reserveCapacity(drafts.count)
        switch secondHalf.result() {
        case .success(let rest): prepared.append(contentsOf: rest)
        case .failure(let error): preconditionFailure("preparing an event cannot throw, but did: \(error)")
        }
        return prepared
    }
}

/// Writes the commit-time fields around a prepared event's bytes.
enum EnvelopeSplicing {
    /// The encoding of `recorded_at` (field 3), the same for every event of a commit.
    static func recordedAtField(_ date: Date) throws -> [UInt8] {
        var envelope = Tally_V1_Envelope()
        envelope.recordedAt = Google_Protobuf_Timestamp(date: date)
        return try envelope.serializedBytes()
    }

    /// The size of the whole envelope for `event` at `sequence`.
    static func envelopeSize(_ event: PreparedEvent, sequence: UInt64, recordedAtField: [UInt8]) -> Int {
        1 + varintSize(sequence) + event.occurredAtField.count + recordedAtField.count + event.bodyFields.count + 2 + 32
    }

    /// Writes the envelope into `buffer`, which has exactly `envelopeSize` bytes.
    static func write(
        _ event: PreparedEvent, sequence: UInt64, recordedAtField: [UInt8], previousHash: EventHash,
        into buffer: UnsafeMutableRawBufferPointer
    ) {
        var offset = 0
        func append(_ bytes: UnsafeRawBufferPointer) {
            guard bytes.count > 0 else { return }
            (buffer.baseAddress! + offset).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
            offset += bytes.count
        }
        func appendByte(_ byte: UInt8) {
            buffer[offset] = byte
            offset += 1
        }
        appendByte(0x08)  // field 1, varint
        var value = sequence
        while value >= 0x80 {
            appendByte(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        appendByte(UInt8(value))
        event.occurredAtField.withUnsafeBytes(append)
        recordedAtField.withUnsafeBytes(append)
        event.bodyFields.withUnsafeBytes(append)
        appendByte(0x62)  // field 12, length-delimited
        appendByte(32)
        previousHash.withUnsafeBytes(append)
        precondition(offset == buffer.count, "spliced envelope size mismatch")
    }

    private static func varintSize(_ value: UInt64) -> Int {
        value == 0 ? 1 : (64 - value.leadingZeroBitCount + 6) / 7
    }
}
