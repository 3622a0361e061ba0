public import EventLog
public import Foundation
public import LMDB

/// A projection's databases inside one write transaction, as `apply` sees them. Projectors
/// read and write only through it, never through the transaction itself, so that how writes
/// reach LMDB stays the projection machinery's business.
///
/// A class: projectors pass it down through helpers and closures for every event, and copying
/// a struct of six references retained and released each (a tenth of a rebuild lane's time).
public final class ProjectionStore {
    /// Where writes that bypass the cache go; nil in a rebuild lane (`RebuildLanes`), whose
    /// writes all go to its cache and its journal buffer, written by the batch's thread after.
    private let transaction: WriteTransaction?
    /// Where reads of what the cache lacks go: the write transaction, or a lane's read
    /// transaction, begun inside the batch's write transaction and so seeing what it began from.
    private let reads: Transaction
    let handles: DatabaseHandles
    /// During a rebuild: the batch's writes, held until it ends (`WriteBackCache`).
    let cache: WriteBackCache?
    /// The payload of the event being folded, decoded once for every projector that reads it.
    let decoded: DecodedPayload?
    /// The sequence this fold will have reached before anyone reads the projection, when that
    /// is known before it starts: a catch-up's or snapshot's last; for each rebuild batch, the
    /// head the rebuild will reach before its slots go live (so work deferred past a batch's end
    /// may be done straight away). Nil while appending, where events arrive a request at a time.
    public let lastSequence: UInt64?
    /// A rebuild lane's journal entries, held for the batch's thread to write.
    private let journalBuffer: JournalBuffer?
    /// A lane folding the next batch ahead: the previous batch's cells, read where `cache`
    /// lacks a key and before `reads`, which sees only what was committed before that batch.
    private let previousBatch: WriteBackCache?

    init(
        transaction: WriteTransaction, handles: DatabaseHandles, cache: WriteBackCache? = nil,
        decoded: DecodedPayload? = nil,
        lastSequence: UInt64? = nil
    ) {
        self.transaction = transaction
        reads = transaction
        self.handles = handles
        self.cache = cache
        self.decoded = decoded
        self.lastSequence = lastSequence
        journalBuffer = nil
        previousBatch = nil
    }

    /// A store for a rebuild lane: reads through `reads` where `cache` (then `previousBatch`,
    /// when given) lacks a key, holds every write in `cache` or `journal`.
    init(
        lane reads: Transaction, handles: DatabaseHandles, cache: WriteBackCache, previousBatch: WriteBackCache?,
        journal: JournalBuffer,
        decoded: DecodedPayload, lastSequence: UInt64?
    ) {
        transaction = nil
        self.reads = reads
        self.handles = handles
        self.cache = cache
        self.decoded = decoded
        self.lastSequence = lastSequence
        journalBuffer = journal
        self.previousBatch = previousBatch
    }

    /// The transaction for a write the cache does not take. In a lane only a key LMDB refuses
    /// (empty, or longer than 511 bytes) gets here: it is refused as LMDB would refuse it.
    private func writer(_ key: UnsafeRawBufferPointer) throws -> WriteTransaction {
        guard let transaction else {
            throw LMDBError(
                code: .badValueSize, message: "a key of \(key.count) bytes (LMDB takes 1 to 511)",
                operation: "rebuild lane put")
        }
        return transaction
    }

    /// `event`'s payload as `decode` makes it, decoded once however many projectors fold the
    /// event (a usage event is decoded by the quota and the rollup projections alike).
    public func payload<Payload>(of event: StoredEvent, _ decode: (Data) throws -> Payload) rethrows -> Payload {
        guard let decoded else { return try decode(event.payload) }
        if decoded.type == ObjectIdentifier(Payload.self), let box = decoded.box {
            // The type was checked by identity: the box is a PayloadBox<Payload>.
            let typed = unsafeDowncast(box, to: PayloadBox<Payload>.self)
            if decoded.sequence == event.sequence { return typed.value }
            let value = try decode(event.payload)
            typed.value = value
            decoded.sequence = event.sequence
            return value
        }
        let value = try decode(event.payload)
        (decoded.sequence, decoded.type, decoded.box) = (
            event.sequence, ObjectIdentifier(Payload.self), PayloadBox(value)
        )
        return value
    }

    /// The database the projector declared as `name`.
    public func database(_ name: String) -> Database { handles.database(name) }

    /// The cache, for keys LMDB accepts (1 to 511 bytes); LMDB itself refuses the others.
    private func cache(for key: some Collection) -> WriteBackCache? {
        guard let cache, (1...511).contains(key.count) else { return nil }
        return cache
    }

    public func value(forKey key: [UInt8], in database: Database) throws -> [UInt8]? {
        try withValue(forKey: key, in: database) { $0.map { Array($0) } }
    }

    /// Calls `body` with the value of `key` in place (valid only inside `body`), or nil.
    public func withValue<R>(forKey key: [UInt8], in database: Database, _ body: (UnsafeRawBufferPointer?) throws -> R)
        throws -> R
    {
        try key.withUnsafeBytes { key in try withValue(forKey: key, in: database, body) }
    }

    /// The same, for a key in memory the caller owns (built on the stack, say).
    public func withValue<R>(
        forKey key: UnsafeRawBufferPointer, in database: Database, _ body: (UnsafeRawBufferPointer?) throws -> R
    ) throws -> R {
        if let cache = cache(for: key) {
            switch cache.lookup(key, in: database) {
            case .value(let bytes): return try body(bytes)
            case .deleted: return try body(nil)
            case .absent: break
            }
        }
        return try body(try stored(key, in: database))
    }

    /// Calls `body` with the stored record (hash, then envelope) of each of the log's events
    /// `sequences` (ascending) as this fold sees the log, or nil for one it lacks, through one
    /// cursor (`ProjectionReader.forEachLogRecord`). A record is valid only inside `body`, and
    /// only until the fold writes to LMDB: read what is needed from it first.
    public func forEachLogRecord(
        at sequences: [UInt64], _ body: (_ sequence: UInt64, _ record: UnsafeRawBufferPointer?) throws -> Void
    ) throws {
        try LogRecords.forEach(at: sequences, in: handles.events, through: reads, body)
    }

    /// What LMDB holds under `key`, as this fold sees it: a lane folding ahead looks in the
    /// previous batch's cells first. Valid until the next write (LMDB is not written by a fold
    /// until its flush, and the previous batch's cells do not change).
    private func stored(_ key: UnsafeRawBufferPointer, in database: Database) throws -> UnsafeRawBufferPointer? {
        if let previousBatch {
            switch previousBatch.lookup(key, in: database) {
            case .value(let bytes): return bytes
            case .deleted: return nil
            case .absent: break
            }
        }
        return try reads.withValue(forKey: key, in: database) { $0 }
    }

    public func put(_ value: [UInt8], forKey key: [UInt8], in database: Database) throws {
        if let cache = cache(for: key) {
            key.withUnsafeBytes { key in
                value.withUnsafeBytes { value in
                    cache.put(value.count, forKey: key, in: database) { $0.copyMemory(from: value) }
                }
            }
        } else {
            try key.withUnsafeBytes { try writer($0) }.put(value, forKey: key, in: database)
        }
    }

    /// Stores `count` bytes under `key`, written in place by `fill`: no intermediate array.
    public func put(
        _ count: Int, forKey key: [UInt8], in database: Database, fill: (UnsafeMutableRawBufferPointer) throws -> Void
    ) throws {
        try key.withUnsafeBytes { key in try put(count, forKey: key, in: database, fill: fill) }
    }

    /// The same, for a key in memory the caller owns.
    public func put(
        _ count: Int, forKey key: UnsafeRawBufferPointer, in database: Database,
        fill: (UnsafeMutableRawBufferPointer) throws -> Void
    ) throws {
        if let cache = cache(for: key) {
            try cache.put(count, forKey: key, in: database, fill: fill)
        } else {
            try writer(key).reserve(count, forKey: key, in: database, fill: fill)
        }
    }

    /// Replaces the value of `key` with `count` bytes that `body` writes, given the old value
    /// (nil when there is none): a read-modify-write with one lookup when rebuilding. Both
    /// buffers are valid only inside `body`.
    public func update(
        _ count: Int, forKey key: [UInt8], in database: Database,
        _ body: (_ old: UnsafeRawBufferPointer?, _ new: UnsafeMutableRawBufferPointer) throws -> Void
    ) throws {
        try key.withUnsafeBytes { key in try update(count, forKey: key, in: database, body) }
    }

    /// The same, for a key in memory the caller owns (built on the stack, say).
    public func update(
        _ count: Int, forKey key: UnsafeRawBufferPointer, in database: Database,
        _ body: (_ old: UnsafeRawBufferPointer?, _ new: UnsafeMutableRawBufferPointer) throws -> Void
    ) throws {
        try update(upTo: count, forKey: key, in: database) { old, new in
            try body(old, new)
            return count
        }
    }

    /// The same for a value whose length depends on its content (a compact encoding, say):
    /// `body` writes at most `maximumCount` bytes into `new` and returns how many it wrote.
    public func update(
        upTo maximumCount: Int, forKey key: [UInt8], in database: Database,
        _ body: (_ old: UnsafeRawBufferPointer?, _ new: UnsafeMutableRawBufferPointer) throws -> Int
    ) throws {
        try key.withUnsafeBytes { key in try update(upTo: maximumCount, forKey: key, in: database, body) }
    }

    /// The same, for a key in memory the caller owns.
    public func update(
        upTo maximumCount: Int, forKey key: UnsafeRawBufferPointer, in database: Database,
        _ body: (_ old: UnsafeRawBufferPointer?, _ new: UnsafeMutableRawBufferPointer) throws -> Int
    ) throws {
        if let cache = cache(for: key) {
            try cache.update(
                upTo: maximumCount, forKey: key, in: database, stored: { try stored(key, in: database) }, body)
            return
        }
        // The new value is built aside while the old one is valid, then stored: the put may move the old.
        try withUnsafeTemporaryAllocation(byteCount: maximumCount, alignment: 8) { new in
            let transaction = try writer(key)
            let written = try transaction.withValue(forKey: key, in: database) { old in try body(old, new) }
            precondition(
                (0...maximumCount).contains(written),
                "ProjectionStore: a value of \(written) bytes overran its \(maximumCount)")
            try transaction.reserve(written, forKey: key, in: database) {
                $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: new[..<written]))
            }
        }
    }

    /// A hint that `key` will be read or written soon: when writes are held (rebuilds, and an
    /// append's request), starts loading where the write-back cache keeps it, and, for a lane
    /// folding ahead, where the previous batch's cache does (a cell's first change in a batch
    /// looks there next: a second wait for memory). Changes nothing.
    public func prefetch(forKey key: UnsafeRawBufferPointer, in database: Database) {
        guard let cache = cache(for: key) else { return }
        let hash = WriteBackCache.hash(key, database.id)
        cache.prefetch(hash: hash)
        previousBatch?.prefetch(hash: hash)
    }

    public func delete(key: [UInt8], in database: Database) throws {
        if let cache = cache(for: key) {
            key.withUnsafeBytes { cache.delete($0, in: database) }
        } else {
            _ = try key.withUnsafeBytes { try writer($0) }.delete(key: key, in: database)
        }
    }

    // MARK: Journals

    // A journal is a database of entries keyed by ascending event sequence, for work a
    // projection defers and folds later in bulk. Its entries go straight to LMDB, at the end
    // of its last page, never through the write-back cache, so that a cursor reads back
    // exactly what was journaled. Use a journal database for nothing else.

    /// Journals `count` bytes, written in place by `fill`, under event `sequence`: greater than
    /// every sequence journaled in `database` so far.
    public func journal(
        _ count: Int, sequence: UInt64, in database: Database, fill: (UnsafeMutableRawBufferPointer) throws -> Void
    ) throws {
        if let journalBuffer { return try journalBuffer.append(count, sequence: sequence, in: database, fill: fill) }
        try withUnsafeBytes(of: sequence.bigEndian) { key in
            try writer(key).reserve(count, forKey: key, in: database, options: .append, fill: fill)
        }
    }

    /// Removes the entries journaled in `database` under sequences below `sequence`, then
    /// calls `body` with each, in order (the bytes are valid only inside `body`). Cheap when
    /// there are none: one cursor move.
    public func drainJournal(
        _ database: Database, below sequence: UInt64,
        _ body: (_ sequence: UInt64, _ entry: UnsafeRawBufferPointer) throws -> Void
    ) throws {
        // Lanes never drain: `settle` runs on the batch's thread, before the lanes fold.
        guard let transaction else { preconditionFailure("a rebuild lane cannot drain a journal") }
        // Copied out before anything else is written: `body` writes, and LMDB may move pages.
        var entries: [UInt8] = []
        var ranges: [(sequence: UInt64, range: Range<Int>)] = []
        let drainsAll = try transaction.withCursor(on: database) { cursor in
            var entry = try cursor.first()
            while let current = entry {
                let journaled = UInt64(bigEndian: current.key.loadUnaligned(as: UInt64.self))
                guard journaled < sequence else { return false }
                ranges.append((journaled, entries.count..<(entries.count + current.value.count)))
                entries.append(contentsOf: current.value)
                entry = try cursor.next()
            }
            return true
        }
        guard !ranges.isEmpty else { return }
        if drainsAll {
            try transaction.removeAll(in: database)
        } else {
            // The drained entries are the journal's first: deleted in order through one cursor,
            // without a search each (a search per entry was a quarter of a merge).
            try transaction.withCursor(on: database) { cursor in
                var entry = try cursor.first()
                for (journaled, _) in ranges {
                    guard let current = entry,
                        UInt64(bigEndian: current.key.loadUnaligned(as: UInt64.self)) == journaled
                    else {
                        throw LMDBError(
                            code: .corrupted, message: "journal entry \(journaled) moved while it was drained",
                            operation: "drain journal")
                    }
                    try cursor.deleteCurrent()
                    entry = try cursor.current()
                }
            }
        }
        try entries.withUnsafeBytes { entries in
            for (journaled, range) in ranges { try body(journaled, UnsafeRawBufferPointer(rebasing: entries[range])) }
        }
    }
}
