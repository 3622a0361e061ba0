public import EventLog
public import LMDB
import Synchronization

/// The read models of a log, kept current inside the log's append transactions.
///
/// ```swift
/// let environment = try Environment.open(at: path)            // the log's environment
/// let projections = try ProjectionSet(environment: environment, projectors: [UsageTotals()])
/// var options = EventLogOptions(registry: registry)
/// options.observer = projections
/// let log = try EventLog(directory: path, options: options)
/// try projections.synchronize()                              // rebuild what is stale, once at start
/// let total = try projections.read("usage_totals") { reader in … }
/// ```
///
/// Each projector has two slots of databases (`rm.NAME.a.DB` and `rm.NAME.b.DB`); the
/// `projections` database records which slot is live, the version that built it, and the last
/// sequence folded in. Appends fold into the live slot. A rebuild fills the other slot, then
/// catches up and switches slots in one write transaction, so readers see the old read model
/// or the new one, never a mix; no database handle is ever closed under a reader.
///
/// State is read through each transaction (and cached by transaction id), never kept in
/// memory across transactions, so an aborted or retried transaction leaves nothing stale.
/// When the log holds events the projection has not folded (appended by a process without
/// it), the next append folds the gap first, inside its own transaction.
public final class ProjectionSet: AppendObserver {
    public let environment: Environment
    let projectors: [any Projector]

    /// The names of the attached projectors, in order.
    public let names: [String]
    let stateDatabase: Database
    let eventsDatabase: Database
    /// Per projector name, per slot (0, 1): its databases by declared name.
    let slots: [String: [DatabaseHandles]]
    /// The same, by projector index, for the per-event path.
    private let slotsByIndex: [[DatabaseHandles]]
    /// For each event type, which projectors read it (bit i: projector i).
    private let readers: [String: UInt64]
    private let cache = Mutex<TransactionCache?>(nil)
    /// The writes of the request being appended, held until it ends (`requestDidAppend`):
    /// a batch of usage updates each day's counters once, in key order, instead of per event.
    /// Once written, the cells stay in it as clean copies for the next transaction, which may
    /// read them instead of LMDB if it is the very next one to commit (`HeldWrites`).
    private let requestWrites = Mutex(HeldWrites())
    /// By projector index: whether its writes may be held back (no duplicate-sorted databases).
    private let holdsWrites: [Bool]
    /// The event types some projector folds in place, and who reads and folds each.
    private let inPlaceRoutes: InPlaceRoutes
    /// The stores of the current transaction's folds on the writer thread.
    private let foldStores = FoldStores()
    /// Which read models this process's commits wrote, and whether others wrote (`stamp`).
    private let changes: Mutex<ReadModelChanges>

    /// The held writes and whose they are. The clean cells copy what LMDB held after the
    /// transaction numbered `cleanAsOf` committed (`transactionDidCommit`); a write transaction
    /// numbered one more is the next commit after it, in any process, so LMDB still holds
    /// exactly that for it. Any other transaction (another process committed in between, or
    /// this one is a retry, or the last one aborted) starts from an empty cache.
    private struct HeldWrites {
        var cache = WriteBackCache(capacity: 4_096)
        /// The transaction using the cache now (`Transaction.id`, unique in the process).
        var inUseBy: UInt64?
        var inUseByLMDBID: UInt64 = 0
        var cleanAsOf: UInt64?
    }

    /// The states one transaction read and, once `apply` ran in it, advanced.
    private struct TransactionCache {
        var transactionID: UInt64
        /// By projector index.
        var states: [ProjectionState]
        var applied = false
        /// The projectors that folded an event (bit i: projector i).
        var written: UInt64 = 0
    }

    public init(environment: Environment, projectors: [any Projector]) throws {
        var distinct = Set<String>()
        for projector in projectors {
            precondition(
                Self.isWellFormedName(projector.name), "projector names are 1 to 32 of a-z 0-9 _: \(projector.name)")
            precondition(distinct.insert(projector.name).inserted, "two projectors are named \(projector.name)")
        }
        self.environment = environment
        self.projectors = projectors
        stateDatabase = try environment.database(named: "projections")
        let eventsDatabase = try environment.database(named: EventLog.eventsDatabaseName)
        self.eventsDatabase = eventsDatabase
        var slots: [String: [DatabaseHandles]] = [:]
        for projector in projectors {
            slots[projector.name] = try ["a", "b"].map { slot in
                DatabaseHandles(
                    try Dictionary(
                        uniqueKeysWithValues: projector.databases.map { name, options in
                            (
                                name,
                                try environment.database(
                                    named: "rm.\(projector.name).\(slot).\(name)", options: options)
                            )
                        }), events: eventsDatabase)
            }
        }
        self.slots = slots
        slotsByIndex = projectors.map { slots[$0.name]! }
        names = projectors.map(\.name)
        precondition(projectors.count <= 64, "at most 64 projectors")
        var readers: [String: UInt64] = [:]
        for (index, projector) in projectors.enumerated() {
            for type in projector.eventTypes { readers[type, default: 0] |= 1 << UInt64(index) }
        }
        self.readers = readers
        holdsWrites = projectors.map(\.writesCanBeHeld)
        inPlaceRoutes = InPlaceRoutes(projectors)
        changes = Mutex(ReadModelChanges(projectors: projectors.count))
    }

    // MARK: AppendObserver

    public func apply(_ event: StoredEvent, in txn: WriteTransaction) throws {
        try apply(
            sequence: event.sequence, readers: readers[event.eventType] ?? 0, view: nil, inPlace: 0, event: { event },
            in: txn)
    }

    /// Appends come here: the event types some projector folds in place (usage) are read
    /// straight from the record, without decoding an envelope and a payload per event, exactly
    /// as rebuilds fold them; every other event is decoded and goes through `apply(_:in:)`.
    public func apply(record: UnsafeRawBufferPointer, in txn: WriteTransaction) throws {
        guard !inPlaceRoutes.isEmpty else { return try apply(try StoredEvent(record: record), in: txn) }
        guard let view = EventRecordView(record: record), let route = inPlaceRoutes.route(of: view.eventType) else {
            return try apply(try StoredEvent(record: record), in: txn)
        }
        var decoded: StoredEvent?
        try apply(
            sequence: view.sequence, readers: route.readers, view: view, inPlace: route.inPlace,
            event: {
                if let decoded { return decoded }
                let event = try StoredEvent(record: record)
                decoded = event
                return event
            }, in: txn)
    }

    /// Folds event `sequence` into the projectors in `readers` (bit i: projector i), in place
    /// for those in `inPlace` that take it, else through `event`; advances every checkpoint.
    private func apply(
        sequence: UInt64, readers interested: UInt64, view: EventRecordView?, inPlace: UInt64,
        event: () throws -> StoredEvent, in txn: WriteTransaction
    ) throws {
        var states = try takeStates(in: txn)
        let writes = heldWrites(for: txn)
        var written = interested
        // By index: an `any Projector` taken out of the array is copied (and retained), which
        // for every projector and every event was a fiftieth of an append.
        for index in projectors.indices {
            var state = states[index]
            guard state.checkpoint < sequence else { continue }
            if state.checkpoint + 1 < sequence {
                try writes.flush(into: txn)  // the gap is folded straight into LMDB: no cell may stay
                try fold(
                    projectors[index], slot: state.slot, from: state.checkpoint + 1, through: sequence - 1, in: txn)
                written |= 1 << UInt64(index)
            }
            let bit: UInt64 = 1 << UInt64(index)
            if interested & bit != 0 {
                let projector = projectors[index]
                let store = foldStores.store(index, of: projectors.count, slot: state.slot, in: txn) { decoded in
                    ProjectionStore(
                        transaction: txn, handles: slotsByIndex[index][Int(state.slot)],
                        cache: holdsWrites[index] ? writes : nil, decoded: decoded)
                }
                let folded = try inPlace & bit != 0 && projector.applyInPlace(view!, to: store)
                if !folded { try projector.apply(try event(), to: store) }
            }
            state.checkpoint = sequence
            states[index] = state
        }
        if writes.byteCount > 256 << 20 { try writes.flush(into: txn) }
        putStates(states, written: written, in: txn)
    }

    /// Puts back the states `takeStates` took, advanced, and notes the projectors in `written`
    /// as written in `txn`.
    private func putStates(_ states: [ProjectionState], written: UInt64 = 0, in txn: WriteTransaction) {
        cache.withLock { cache in
            if cache?.transactionID == txn.id {
                cache?.states = states
                cache?.applied = true
                cache?.written |= written
            } else {
                cache = TransactionCache(transactionID: txn.id, states: states, applied: true, written: written)
            }
        }
    }

    public func requestDidAppend(in txn: WriteTransaction) throws {
        try heldWrites(for: txn).flush(into: txn, retaining: true)
    }

    public func transactionWillAbort(in txn: WriteTransaction) {
        foldStores.reset()
    }

    /// This transaction's held writes: the clean cells of the last commit if this is the next
    /// one (see `HeldWrites`), else an empty cache.
    private func heldWrites(for txn: WriteTransaction) -> WriteBackCache {
        requestWrites.withLock { held in
            if held.inUseBy == txn.id { return held.cache }
            let lmdbID = txn.lmdbID
            if held.cleanAsOf == nil || held.cleanAsOf! &+ 1 != lmdbID { held.cache.reset() }
            held.inUseBy = txn.id
            held.inUseByLMDBID = lmdbID
            held.cleanAsOf = nil  // until this one commits
            return held.cache
        }
    }

    public func transactionDidCommit(lmdbID: UInt64) {
        changes.withLock { $0.didCommit(lmdbID: lmdbID) }
        requestWrites.withLock { held in
            guard held.inUseBy != nil, held.inUseByLMDBID == lmdbID else { return }
            held.cleanAsOf = lmdbID
            held.inUseBy = nil
        }
    }

    public func transactionWillCommit(head: Checkpoint?, in txn: WriteTransaction) throws {
        let writes = heldWrites(for: txn)
        let (pending, folded) = cache.withLock { cache -> ([ProjectionState], UInt64) in
            guard let current = cache, current.transactionID == txn.id, current.applied else { return ([], 0) }
            return (current.states, current.written)
        }
        var written = folded
        // What each projection holds after this commit depends on the events through its
        // checkpoint only (`Projector.settle`), however the appends were grouped.
        for (index, state) in pending.enumerated() {
            if projectors[index].settles { written |= 1 << UInt64(index) }
            try projectors[index].settle(
                through: state.checkpoint,
                in: ProjectionStore(
                    transaction: txn, handles: slotsByIndex[index][Int(state.slot)],
                    cache: holdsWrites[index] ? writes : nil))
        }
        try writes.flush(into: txn, retaining: true)
        for (projector, state) in zip(projectors, pending).sorted(by: { $0.0.name < $1.0.name }) {
            try write(state, of: projector.name, in: txn)
        }
        cache.withLock { $0 = nil }
        foldStores.reset()
        changes.withLock { $0.willCommit(lmdbID: txn.lmdbID, written: written) }
    }

    // MARK: Queries

    /// The state of the read models of the projectors `names` as `txn` sees them: equal stamps
    /// mean that nothing they hold changed in between, so what was read of them under one may
    /// be kept for the next (`ReadModelStamp`). Nil when `txn` is a write transaction that
    /// folded events into them itself: what it sees is not committed.
    public func stamp(of names: [String], seenBy txn: Transaction) -> ReadModelStamp? {
        let mask = names.reduce(UInt64(0)) { $0 | 1 << UInt64(projectorIndex($1)) }
        guard let writer = txn as? WriteTransaction else {
            return changes.withLock { $0.stamp(of: mask, snapshot: txn.lmdbID) }
        }
        let written = cache.withLock { $0?.transactionID == writer.id ? $0!.written : 0 }
        guard written & mask == 0 else { return nil }
        return changes.withLock { $0.stamp(of: mask, snapshot: writer.lmdbID &- 1) }
    }

    /// Runs `body` with the live slot of projector `name`, in one read transaction.
    public func read<R>(_ name: String, _ body: (ProjectionReader) throws -> R) throws -> R {
        let index = projectorIndex(name)
        return try environment.read { txn in try body(reader(index, name, in: txn)) }
    }

    /// Projector `name`'s live slot inside an existing transaction, such as the one a deciding
    /// append reads through: what a command checks is exactly as current as the log.
    public func reader(_ name: String, in txn: Transaction) throws -> ProjectionReader {
        try reader(projectorIndex(name), name, in: txn)
    }

    private func reader(_ index: Int, _ name: String, in txn: Transaction) throws -> ProjectionReader {
        let state = try Self.state(of: name, in: txn, stateDatabase) ?? .fresh
        return ProjectionReader(transaction: txn, handles: slotsByIndex[index][Int(state.slot)])
    }

    /// Found by comparing names, not by hashing one: a quota check finds three projectors, and
    /// hashing their names was a twelfth of it. Names are short, and a set holds a handful.
    private func projectorIndex(_ name: String) -> Int {
        if let index = names.firstIndex(of: name) { return index }
        preconditionFailure("no projector named \(name)")
    }

    /// The last sequence folded into projector `name`, and the version that built it.
    public func checkpoint(of name: String) throws -> (sequence: UInt64, version: UInt32) {
        let state = try environment.read { try Self.state(of: name, in: $0, stateDatabase) } ?? .fresh
        return (state.checkpoint, state.version)
    }

    // MARK: Internals shared with rebuild and as-of

    /// The states as this transaction sees them (loaded once per transaction), moved out of
    /// the cache so that advancing them copies nothing; `apply` puts them back.
    private func takeStates(in txn: WriteTransaction) throws -> [ProjectionState] {
        let cached = cache.withLock { cache -> [ProjectionState]? in
            guard cache?.transactionID == txn.id, let states = cache?.states else { return nil }
            cache?.states = []
            return states
        }
        if let cached { return cached }
        return try projectors.map { try Self.state(of: $0.name, in: txn, stateDatabase) ?? .fresh }
    }

    /// Folds events `first...last` from the log's `events` database into `slot`.
    func fold(
        _ projector: any Projector, slot: UInt8, from first: UInt64, through last: UInt64, in txn: WriteTransaction
    ) throws {
        try fold([(projector, slot)], from: first, through: last, in: txn)
    }

    /// Folds events `first...last` into each target's slot, decoding each event once for all
    /// of them, straight into LMDB: gaps and a rebuild's catch-up, short runs. (Rebuild batches
    /// hold their writes in caches: `RebuildLanes`.)
    func fold(
        _ targets: [(projector: any Projector, slot: UInt8)], from first: UInt64, through last: UInt64,
        in txn: WriteTransaction
    ) throws {
        guard first <= last else { return }
        let folder = try BatchFolder(targets, slots: slots, in: txn, cache: nil, through: last)
        _ = try folder.fold(from: first, through: last, events: eventsDatabase, in: txn)
        try folder.finish()
    }

    /// Folds `events` (read from another log: a snapshot's) into every projector's first slot
    /// through `cache`, and records `checkpoint` as folded. Nobody reads the snapshot before
    /// it reaches `last`: each projector is told so (`ProjectionStore.lastSequence`), and may
    /// fold straight away what it would defer for a later reader.
    func foldSnapshot(
        _ events: [StoredEvent], checkpoint: UInt64, last: UInt64, in txn: WriteTransaction, cache: WriteBackCache,
        retaining: Bool
    ) throws {
        let folder = try BatchFolder(
            projectors.map { ($0, UInt8(0)) }, slots: slots, in: txn, cache: cache, retaining: retaining, through: last)
        try folder.fold(events)
        try folder.finish()
        for projector in projectors {
            try write(
                ProjectionState(slot: 0, version: projector.version, checkpoint: checkpoint), of: projector.name,
                in: txn)
        }
    }

    func write(_ state: ProjectionState, of name: String, in txn: WriteTransaction) throws {
        try txn.put(state.bytes, forKey: Array(name.utf8), in: stateDatabase)
    }

    static func state(of name: String, in txn: Transaction, _ database: Database) throws -> ProjectionState? {
        var name = name  // withUTF8 may need to make a bridged string contiguous
        return try name.withUTF8 { key in
            try txn.withValue(forKey: UnsafeRawBufferPointer(key), in: database) {
                $0.flatMap(ProjectionState.init(buffer:))
            }
        }
    }

    private static func isWellFormedName(_ name: String) -> Bool {
        (1...32).contains(name.utf8.count)
            && name.utf8.allSatisfy {
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0)
                    || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || $0 == UInt8(ascii: "_")
            }
    }
}
