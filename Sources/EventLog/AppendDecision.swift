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

    /// The event at `sequence`, read through the transaction.
    public func event(at sequence: UInt64) throws -> StoredEvent? {
        try SequenceKey(sequence).withUnsafeBytes { key in
            try transaction.withValue(forKey: key, in: events) { try $0.map(EnvelopeCoding.decodeRecord) }
        }
    }

    /// The sequence of the event that already used (organization, idempotency key), if any:
    /// a command can recognize its own retry before it checks anything else.
    public func sequence(ofIdempotencyKey key: String, organizationID: String) throws -> UInt64? {
        try transaction.value(forKey: LogKeys.idempotency(organizationID: organizationID, key: key), in: idempotencyIndex)
            .flatMap { $0.withUnsafeBytes { SequenceKey(bytes: $0)?.sequence } }
    }
}
