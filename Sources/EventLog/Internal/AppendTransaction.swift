import Crypto
import Foundation
import LMDB
import SwiftProtobuf

/// Appends requests inside one write transaction, each request all or nothing.
///
/// Each request is checked completely (idempotency lookups only read) before any of its
/// events is written, so a request that fails leaves nothing behind and the transaction
/// carries on with the next one: one bad request never poisons a group commit. A streamed
/// request comes in chunks, each checked before it is written; one that fails after an
/// earlier chunk was written takes the transaction down, and the log commits the group again
/// without it (`EventLog.append(streaming:)`).
struct AppendTransaction {
    private let txn: WriteTransaction
    private let databases: LogDatabases
    private let recordedAtField: [UInt8]
    private var nextSequence: UInt64
    private var previousHash: EventHash
    /// Whether the last idempotency key went in at the end of the index with `MDB_APPEND`.
    /// Time-ordered keys usually do, which fills pages completely; when one does not, the
    /// rest of the transaction inserts normally.
    private var idempotencyKeysAscend = true

    private let observer: (any AppendObserver)?
    /// The record of the event being written, for the observer (reused: no allocation per event).
    private var observedRecord: [UInt8] = []

    init(txn: WriteTransaction, databases: LogDatabases, recordedAt: Date, observer: (any AppendObserver)?) throws {
        self.txn = txn
        self.databases = databases
        self.observer = observer
        self.recordedAtField = try EnvelopeSplicing.recordedAtField(recordedAt)
        // Read the head afresh in every transaction: another process may have appended.
        let head = try txn.withCursor(on: databases.events) { cursor in
            try cursor.last().map { entry in
                (SequenceKey(bytes: entry.key)?.sequence ?? 0, EventHash(bytes: entry.value) ?? .zero)
            }
        }
        nextSequence = (head?.0 ?? 0) + 1
        previousHash = head?.1 ?? .zero
    }

    /// The last event written so far in this transaction (or before it), nil for an empty log.
    var head: Checkpoint? {
        nextSequence > 1 ? Checkpoint(sequence: nextSequence - 1, hash: previousHash) : nil
    }

    /// What a checked event will do.
    private enum Plan {
        case append(idempotencyKey: [UInt8]?)
        case duplicate(of: UInt64)
    }

    /// Appends `events` atomically. Returns the conflict as a failure, having written nothing;
    /// throws only storage and observer errors, which doom the whole transaction.
    ///
    /// `knownUnused`: index keys read as unused in this transaction since its last write (by
    /// a deciding request's closure), which need no second lookup.
    mutating func append(_ events: [PreparedEvent], knownUnused: Set<IndexKey> = []) throws -> Result<
        [AppendReceipt], EventLogError
    > {
        var request = RequestProgress()
        if case .failure(let conflict) = try append(
            chunk: events, knownUnused: knownUnused, to: &request, moreMayFollow: false)
        {
            return .failure(conflict)
        }
        try endRequest()
        return .success(request.receipts)
    }

    /// A request appended in chunks (a streamed decision's): its receipts so far, and what
    /// a later chunk's idempotency keys are checked against.
    struct RequestProgress {
        fileprivate(set) var receipts: [AppendReceipt] = []
        /// The chunks appended, kept for their drafts: a key used again must carry the same event.
        fileprivate var chunks: [[PreparedEvent]] = []
        /// The request's idempotency index keys so far: where their event is and its sequence.
        fileprivate var keys: [IndexKey: (chunk: Int, index: Int, sequence: UInt64)] = [:]
        /// Whether a chunk wrote events: a failure after that cannot leave nothing behind.
        fileprivate(set) var wroteEvents = false
    }

    /// Appends one chunk of a request, checked as a whole before any of it is written; returns
    /// a conflict as a failure, having written nothing of this chunk (earlier chunks stay:
    /// `request.wroteEvents` says whether there were any). `moreMayFollow`: whether later
    /// chunks of the same request may repeat this one's idempotency keys.
    mutating func append(
        chunk events: [PreparedEvent], knownUnused: Set<IndexKey>, to request: inout RequestProgress,
        moreMayFollow: Bool = true
    ) throws -> Result<Void, EventLogError> {
        var plans: [Plan] = []
        plans.reserveCapacity(events.count)
        var plannedSequence = nextSequence
        let chunkIndex = request.chunks.count
        let remembersKeys = moreMayFollow || events.count > 1
        // Reserved once for a whole request; chunks let the table grow by doubling (reserving
        // a chunk's worth more each time would rehash it every chunk).
        if !moreMayFollow && events.count > 1 { request.keys.reserveCapacity(events.count) }

        // By index, reading fields in place: copying each event (and its draft) out of the
        // array retained every field it holds.
        for index in events.indices {
            guard let hashedKey = events[index].idempotencyIndexKey else {
                plans.append(.append(idempotencyKey: nil))
                plannedSequence += 1
                continue
            }
            if let earlier = request.keys[hashedKey] {
                let draft = events[index].draft
                let earlierDraft =
                    earlier.chunk == chunkIndex
                    ? events[earlier.index].draft : request.chunks[earlier.chunk][earlier.index].draft
                guard earlierDraft.hasSameContent(as: draft) else {
                    return .failure(
                        .idempotencyConflict(
                            organizationID: draft.organizationID, idempotencyKey: draft.idempotencyKey ?? "",
                            originalSequence: earlier.sequence))
                }
                plans.append(.duplicate(of: earlier.sequence))
                continue
            }
            if !knownUnused.contains(hashedKey), let original = try existingEvent(forIdempotencyKey: hashedKey.bytes) {
                let draft = events[index].draft
                guard original.envelope.eventType == draft.eventType, original.envelope.payload == draft.payload else {
                    return .failure(
                        .idempotencyConflict(
                            organizationID: draft.organizationID, idempotencyKey: draft.idempotencyKey ?? "",
                            originalSequence: original.sequence))
                }
                plans.append(.duplicate(of: original.sequence))
                continue
            }
            if remembersKeys { request.keys[hashedKey] = (chunkIndex, index, plannedSequence) }
            plans.append(.append(idempotencyKey: hashedKey.bytes))
            plannedSequence += 1
        }

        request.receipts.reserveCapacity(request.receipts.count + events.count)
        for index in events.indices {
            switch plans[index] {
            case .duplicate(let sequence):
                request.receipts.append(AppendReceipt(sequence: sequence, isDuplicate: true))
            case .append(let idempotencyKey):
                let sequence = try write(events[index], idempotencyKey: idempotencyKey)
                request.receipts.append(AppendReceipt(sequence: sequence, isDuplicate: false))
                request.wroteEvents = true
            }
        }
        if moreMayFollow { request.chunks.append(events) }
        return .success(())
    }

    /// The request's last event is in: the observer writes back what it held for it.
    mutating func endRequest() throws {
        try observer?.requestDidAppend(in: txn)
    }

    private func existingEvent(forIdempotencyKey key: [UInt8]) throws -> StoredEvent? {
        let sequence = try key.withUnsafeBytes { key in
            try txn.withValue(forKey: key, in: databases.idempotency) {
                $0.flatMap { SequenceKey(bytes: $0)?.sequence }
            }
        }
        guard let sequence else { return nil }
        return try SequenceKey(sequence).withUnsafeBytes { key in
            try txn.withValue(forKey: key, in: databases.events) { record in
                guard let record else {
                    throw LMDBError(
                        code: .corrupted, message: "idempotency index names event \(sequence), which is missing",
                        operation: "append")
                }
                return try EnvelopeCoding.decodeRecord(record)
            }
        }
    }

    /// Writes one event and its index entries; returns its sequence.
    private mutating func write(_ event: PreparedEvent, idempotencyKey: [UInt8]?) throws -> UInt64 {
        precondition(nextSequence < UInt64.max, "the log is full")
        let sequence = nextSequence
        let size = EnvelopeSplicing.envelopeSize(event, sequence: sequence, recordedAtField: recordedAtField)
        var hash = EventHash.zero
        let sequenceKey = SequenceKey(sequence)
        try sequenceKey.withUnsafeBytes { key in
            try txn.reserve(EnvelopeCoding.hashLength + size, forKey: key, in: databases.events, options: .append) {
                record in
                let envelope = UnsafeMutableRawBufferPointer(rebasing: record[EnvelopeCoding.hashLength...])
                EnvelopeSplicing.write(
                    event, sequence: sequence, recordedAtField: recordedAtField, previousHash: previousHash,
                    into: envelope)
                hash = EnvelopeCoding.sha256(UnsafeRawBufferPointer(envelope))
                hash.withUnsafeBytes {
                    record.baseAddress!.copyMemory(from: $0.baseAddress!, byteCount: EnvelopeCoding.hashLength)
                }
                if observer != nil {
                    // The stored bytes, exactly what a later scan will see; copied, because the
                    // observer writes, and LMDB may move a dirty page of this transaction.
                    observedRecord.removeAll(keepingCapacity: true)
                    observedRecord.append(contentsOf: UnsafeRawBufferPointer(record))
                }
            }
            if let idempotencyKey {
                try idempotencyKey.withUnsafeBytes { indexKey in
                    if idempotencyKeysAscend {
                        idempotencyKeysAscend = try txn.putIfAllowed(
                            key, forKey: indexKey, in: databases.idempotency, options: .append)
                        if idempotencyKeysAscend { return }
                    }
                    try txn.put(key, forKey: indexKey, in: databases.idempotency, options: .noOverwrite)
                }
            }
            // Sequences only grow, so each goes at the end of its organization's values.
            let segmentKey = LogKeys.organizationSegment(
                sequence >> LogKeys.segmentShift, organizationID: event.draft.organizationID)
            try segmentKey.withUnsafeBytes { segmentKey in
                try txn.put(key, forKey: segmentKey, in: databases.organizationEvents, options: .appendDuplicate)
            }
        }
        nextSequence += 1
        previousHash = hash
        if let observer {
            try observedRecord.withUnsafeBytes { try observer.apply(record: $0, in: txn) }
        }
        return sequence
    }
}

extension AppendTransaction {
    /// Writes an envelope exported from a log verbatim, with its index entries, checking that
    /// it continues this log: the next sequence, linked to the current head, and hashing to
    /// `expectedHash` when one is given. Recorded time and all stay as they were.
    mutating func restore(_ bytes: [UInt8], expectedHash: EventHash?) throws -> Checkpoint {
        let envelope = try bytes.withUnsafeBytes { try EnvelopeCoding.decodeEnvelope($0) }
        let sequence = envelope.sequence
        guard sequence == nextSequence else {
            throw EventLogError.restoreMismatch(
                sequence: sequence, reason: "the log expects event \(nextSequence) next")
        }
        guard
            EventHash(envelope.previousHash) == previousHash
                || (sequence == 1 && envelope.previousHash.isEmpty && previousHash == .zero)
        else {
            throw EventLogError.restoreMismatch(
                sequence: sequence, reason: "its previous_hash does not match the hash of event \(sequence - 1)")
        }
        let hash = bytes.withUnsafeBytes { EnvelopeCoding.sha256($0) }
        if let expectedHash, expectedHash != hash {
            throw EventLogError.restoreMismatch(
                sequence: sequence, reason: "its bytes hash to \(hash.hex), not the \(expectedHash.hex) recorded for it"
            )
        }
        let sequenceKey = SequenceKey(sequence)
        try sequenceKey.withUnsafeBytes { key in
            try txn.reserve(
                EnvelopeCoding.hashLength + bytes.count, forKey: key, in: databases.events, options: .append
            ) { record in
                hash.withUnsafeBytes {
                    record.baseAddress!.copyMemory(from: $0.baseAddress!, byteCount: EnvelopeCoding.hashLength)
                }
                bytes.withUnsafeBytes {
                    (record.baseAddress! + EnvelopeCoding.hashLength).copyMemory(
                        from: $0.baseAddress!, byteCount: bytes.count)
                }
            }
            if !envelope.idempotencyKey.isEmpty {
                let indexKey = LogKeys.idempotency(
                    organizationID: envelope.organizationID, key: envelope.idempotencyKey)
                guard
                    try indexKey.withUnsafeBytes({
                        try txn.putIfAllowed(key, forKey: $0, in: databases.idempotency, options: .noOverwrite)
                    })
                else {
                    throw EventLogError.restoreMismatch(
                        sequence: sequence,
                        reason:
                            "its idempotency key \"\(envelope.idempotencyKey)\" was already used in \(envelope.organizationID)"
                    )
                }
            }
            let segmentKey = LogKeys.organizationSegment(
                sequence >> LogKeys.segmentShift, organizationID: envelope.organizationID)
            try segmentKey.withUnsafeBytes { segmentKey in
                try txn.put(key, forKey: segmentKey, in: databases.organizationEvents, options: .appendDuplicate)
            }
        }
        nextSequence += 1
        previousHash = hash
        try observer?.apply(StoredEvent(envelope: envelope, hash: hash), in: txn)
        return Checkpoint(sequence: sequence, hash: hash)
    }
}

extension EventDraft {
    /// Same type and payload: a retry of the same event rather than a reuse of its key.
    func hasSameContent(as other: EventDraft) -> Bool {
        eventType == other.eventType && payload == other.payload
    }
}
