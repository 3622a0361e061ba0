import Foundation
import LMDB

extension EventLog {
    /// One event of an export, to restore: its envelope exactly as it was stored, and the hash
    /// the export recorded for it (checked when given).
    public struct RestoredEvent: Sendable {
        public var envelope: [UInt8]
        public var hash: EventHash?

        public init(envelope: [UInt8], hash: EventHash?) {
            self.envelope = envelope
            self.hash = hash
        }
    }

    /// Appends exported events verbatim, all or none, in one durable commit: each must be the
    /// next sequence and link to the current head, so a full export restored into an empty
    /// log rebuilds it byte for byte (same hashes, same head). Observers (read models) fold
    /// them as they would any append.
    ///
    /// - Throws: `EventLogError.restoreMismatch` naming the first event that does not continue
    ///   the log; nothing of the batch is written.
    @discardableResult
    public func restoreSynchronously(_ events: [RestoredEvent]) throws -> Checkpoint? {
        guard !events.isEmpty else { return try head() }
        var committed: UInt64 = 0
        let head = try writeObserved { txn in
            committed = txn.lmdbID
            var appender = try AppendTransaction(
                txn: txn, databases: databases, recordedAt: options.clock(), observer: options.observer)
            var head: Checkpoint?
            for event in events { head = try appender.restore(event.envelope, expectedHash: event.hash) }
            try options.observer?.transactionWillCommit(head: head, in: txn)
            return head
        }
        options.observer?.transactionDidCommit(lmdbID: committed)
        return head
    }
}
