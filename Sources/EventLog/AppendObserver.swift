public import LMDB

/// Code that runs inside the log's write transactions, so that what it writes commits
/// together with the events: projections kept current in the same commit as the events they
/// fold (DESIGN.md: "read models are updated in the same transaction as each append").
///
/// `apply` sees each appended event exactly as a later scan of the log decodes it, in
/// sequence order. It must be deterministic and must not block: it runs on the writer thread
/// while every other appender waits. Throwing aborts the whole transaction (every request of a
/// group commit fails and nothing of it is written), so throw only for a broken invariant.
public protocol AppendObserver: Sendable {
    func apply(_ event: StoredEvent, in txn: WriteTransaction) throws

    /// The same event as it is stored: its hash, then its envelope (valid only during the
    /// call). What appends call; by default it decodes the record and calls `apply(_:in:)`.
    /// An observer may read the record in place instead (`EventRecordView`), skipping the
    /// decode for the events that fill most logs, as long as it folds them exactly the same.
    func apply(record: UnsafeRawBufferPointer, in txn: WriteTransaction) throws

    /// Called once per write transaction, after its last event and before it commits, with the
    /// log's head at that point (nil for an empty log): the place to write checkpoints.
    func transactionWillCommit(head: Checkpoint?, in txn: WriteTransaction) throws

    /// Called after each request's events are applied, before the next request of the same
    /// group commit is decided: an observer holding writes back must write them here, so that
    /// what the next request reads is current.
    func requestDidAppend(in txn: WriteTransaction) throws

    /// Called when a write transaction is about to abort (an error, or map growth, which
    /// retries it), from inside it: an observer that handed work for it to another thread
    /// must wait for that work here, and forget it.
    func transactionWillAbort(in txn: WriteTransaction)

    /// Called after a write transaction that appended at least one event (through `append`
    /// or `restore`) committed durably, with its LMDB number (`Transaction.lmdbID`). Not
    /// called for one that aborted or appended nothing (LMDB does not use up the number of a
    /// transaction that wrote nothing). An observer keeping what it wrote in memory may trust
    /// it from here on.
    func transactionDidCommit(lmdbID: UInt64)
}

extension AppendObserver {
    public func apply(record: UnsafeRawBufferPointer, in txn: WriteTransaction) throws {
        try apply(try StoredEvent(record: record), in: txn)
    }

    public func transactionWillCommit(head: Checkpoint?, in txn: WriteTransaction) throws {}
    public func requestDidAppend(in txn: WriteTransaction) throws {}
    public func transactionWillAbort(in txn: WriteTransaction) {}
    public func transactionDidCommit(lmdbID: UInt64) {}
}
