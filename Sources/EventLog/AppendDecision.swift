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
    /// The write transaction, while nothing has been written in it: then a read transaction
    /// begun beside it sees exactly what it sees, and `inParallel` may use a second thread.
    let unwrittenWriter: (environment: Environment, transaction: WriteTransaction)?
    /// What the decided drafts are validated against, and the clock reading of this commit.
    let options: EventLogOptions
    let now: Date
    /// The idempotency index keys this decision found unused, which the append then need not
    /// look up again: nothing is written between a decision and its append.
    let unusedKeys = UnusedKeys()

    init(
        head: Checkpoint?, transaction: Transaction, idempotencyIndex: Database, events: Database, options: EventLogOptions, now: Date,
        unwrittenWriter: (Environment, WriteTransaction)?
    ) {
        self.head = head
        self.transaction = transaction
        self.idempotencyIndex = idempotencyIndex
        self.events = events
        self.options = options
        self.now = now
        self.unwrittenWriter = unwrittenWriter.map { (environment: $0.0, transaction: $0.1) }
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
        guard key.utf8.count <= EventDraft.maximumTextBytes, EventDraft.isWellFormedOrganizationID(organizationID) else { return nil }
        let indexKey = LogKeys.idempotency(organizationID: organizationID, key: key)
        let sequence = try transaction.value(forKey: indexKey, in: idempotencyIndex).flatMap { $0.withUnsafeBytes { SequenceKey(bytes: $0)?.sequence } }
        if sequence == nil { unusedKeys.keys.insert(IndexKey(indexKey)) }
        return sequence
    }

    /// Runs `here` with this decision and `there` with another that sees exactly the same
    /// data, on a second core when it can, and returns both results. For a decision whose
    /// work splits into independent halves (usage of different organizations, say).
    ///
    /// Both closures must only read. `there` runs on a helper thread, reading through a
    /// read-only transaction begun beside the write transaction: while the write transaction
    /// has written nothing, and since it holds LMDB's writer lock so nobody else can commit,
    /// that reader sees exactly what the write transaction sees. When an earlier request of
    /// the same group commit already appended events, which only the write transaction sees,
    /// or the machine has one core, both closures run here, one after the other; and `there`
    /// runs here too when every reader slot is taken.
    public func inParallel<Here, There: Sendable>(
        _ here: (borrowing AppendDecision) throws -> Here,
        _ there: @escaping @Sendable (borrowing AppendDecision) throws -> There
    ) throws -> (Here, There) {
        guard let writer = unwrittenWriter, HelperThreads.haveSecondCore else {
            return (try here(self), try there(self))
        }
        let context = HelperContext(
            head: head, environment: writer.environment, writer: writer.transaction, idempotencyIndex: idempotencyIndex, events: events,
            options: options, now: now)
        let helper = HelperThreads.start { () throws -> HelperOutcome<There> in
            do {
                return try context.environment.read(besides: context.writer) { reader in
                    let decision = AppendDecision(
                        head: context.head, transaction: reader, idempotencyIndex: context.idempotencyIndex, events: context.events,
                        options: context.options, now: context.now, unwrittenWriter: nil)
                    return .decided(try there(decision), UnusedKeysHandle(keys: decision.unusedKeys.keys))
                }
            } catch let error as LMDBError where error.code == .readersFull {
                return .noReader  // every reader slot is taken: `there` has not run
            }
        }
        let hereResult = Result { try here(self) }
        let thereResult = helper.result()  // before anything can throw: the helper reads inside this transaction
        switch try thereResult.get() {
        case .decided(let thereValue, let helperKeys):
            // The reader saw what the write transaction sees, so its findings hold for the append.
            unusedKeys.keys.formUnion(helperKeys.keys)
            return (try hereResult.get(), thereValue)
        case .noReader:
            return (try hereResult.get(), try there(self))
        }
    }
}

/// Idempotency index keys a decision found unused. A class so that a borrowed decision can
/// record them; only the thread running the decision touches it.
final class UnusedKeys {
    var keys: Set<IndexKey> = []
}

/// What the helper of `inParallel` came back with: its half decided, or no reader slot to
/// decide it with (then the writer decides it too, rather than fail the request).
private enum HelperOutcome<There: Sendable>: Sendable {
    case decided(There, UnusedKeysHandle)
    case noReader
}

/// The helper's unused keys, handed back to the writer thread once the helper is done with them.
private struct UnusedKeysHandle: @unchecked Sendable {
    let keys: Set<IndexKey>
}

/// What a helper deciding beside the writer needs (`inParallel`, streamed appends). Sendable
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
