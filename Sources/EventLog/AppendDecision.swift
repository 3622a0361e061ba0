import Foundation
public import LMDB

/// What a deciding append's closure may look at: the log's head and a read-only view of the
/// write transaction the events will be appended in, including everything earlier requests of
/// the same group commit wrote. Valid only while the closure runs.
public struct AppendDecision: ~Copyable {
    /// The last event appended before this request, or nil for an empty log.
    public let head: Checkpoint?
    /// Reads through the append's write transaction: read models here are exactly as current
    /// as the log.
    public let transaction: Transaction
    let idempotencyIndex: Database
    let events: Database
    /// What the decided drafts are validated against, and the clock reading of this commit.
    let options: EventLogOptions
    let now: Date
    /// The idempotency index keys this decision found unused, which the append then need not
    /// look up again: nothing is written between a decision and its append.
    let unusedKeys = UnusedKeys()

    init(
        head: Checkpoint?, transaction: Transaction, idempotencyIndex: Database, events: Database,
        options: EventLogOptions, now: Date
    ) {
        self.head = head
        self.transaction = transaction
        self.idempotencyIndex = idempotencyIndex
        self.events = events
        self.options = options
        self.now = now
    }

    /// Checks `draft` by the rules the log applies to every decided event, with the same clock:
    /// a closure deciding many independent records can refuse one that breaks a rule, where
    /// returning it would fail the whole request.
    public func validate(_ draft: EventDraft) throws(EventValidationError) {
        try draft.validate(against: options, now: now, index: nil)
    }

    /// The event at `sequence`, read through the transaction.
    public func event(at sequence: UInt64) throws -> StoredEvent? {
        try SequenceKey(sequence).withUnsafeBytes { key in
            try transaction.withValue(forKey: key, in: events) { try $0.map(EnvelopeCoding.decodeRecord) }
        }
    }

    /// The sequence of the event that already used (organization, idempotency key), if any:
    /// a command can recognize its own retry before it checks anything else. Nil for a key or
    /// organization the log would refuse, which no event can have used.
    public func sequence(ofIdempotencyKey key: String, organizationID: String) throws -> UInt64? {
        guard key.utf8.count <= EventDraft.maximumTextBytes, EventDraft.isWellFormedOrganizationID(organizationID)
        else { return nil }
        let indexKey = LogKeys.idempotency(organizationID: organizationID, key: key)
        let sequence = try transaction.value(forKey: indexKey, in: idempotencyIndex).flatMap {
            $0.withUnsafeBytes { SequenceKey(bytes: $0)?.sequence }
        }
        if sequence == nil { unusedKeys.keys.insert(IndexKey(indexKey)) }
        return sequence
    }
}

/// Idempotency index keys a decision found unused. A class so that a borrowed decision can
/// record them; only the thread running the decision touches it.
final class UnusedKeys {
    var keys: Set<IndexKey> = []
}

/// What a helper deciding beside the writer needs (streamed appends). Sendable
/// because the helper only begins a read beside the write transaction, which stays open
/// until the helper is done; what the writer writes meanwhile is not in that read's view.
struct HelperContext: @unchecked Sendable {
    let head: Checkpoint?
    let environment: Environment
    let writer: WriteTransaction
    let idempotencyIndex: Database
    let events: Database
    let options: EventLogOptions
    let now: Date
}
