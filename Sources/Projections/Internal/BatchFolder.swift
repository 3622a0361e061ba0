internal import CTallyPrefetch
import EventLog
import LMDB

/// Folds a run of events into several projectors' slots inside one write transaction: each
/// event routed once to the projectors that read its type, its payload decoded once, writes
/// held in `cache` (when given) and written at `finish`. The run ends at a sequence known
/// from the start, which each projector is told (`ProjectionStore.lastSequence`, `settle`).
///
/// A rebuild lane's folder (`init(lane:...)`) folds on another thread, through a read
/// transaction, into its own cache and journal buffer; the batch's thread writes them after
/// (`RebuildLanes`).
struct BatchFolder {
    /// The targets' projectors, by target index (each target's slot chose its store). Kept
    /// apart from the targets: calling through a (projector, slot) tuple of an array copied
    /// the tuple, existential and all, for every event.
    private let projectors: [any Projector]
    private let stores: [ProjectionStore]
    private let routes: [String: [Int]]
    /// The same types' bytes, to pass over an event no target reads without decoding it.
    private let readTypes: [[UInt8]]
    private let cache: WriteBackCache?
    private let retaining: Bool
    /// The batch's write transaction; nil in a lane.
    private let transaction: WriteTransaction?
    /// The event types some target folds in place, and which targets read and fold each.
    private let inPlaceRoutes: InPlaceRoutes
    /// When given, times the targets' calls on a sample of events (`RebuildLanes`).
    var meter: FoldCostMeter?
    /// How many bytes of writes the cache may hold before they are written (or a lane stops).
    var heldBytesLimit = 256 << 20

    /// A folder on the batch's thread; first tells each projector the run's end (`Projector.settle`).
    init(
        _ targets: [(projector: any Projector, slot: UInt8)], slots: [String: [DatabaseHandles]],
        in txn: WriteTransaction, cache: WriteBackCache?,
        retaining: Bool = false, through last: UInt64
    ) throws {
        if !retaining { cache?.reset() }
        let decoded = DecodedPayload()
        let stores = targets.map { target in
            ProjectionStore(
                transaction: txn, handles: slots[target.projector.name]![Int(target.slot)],
                cache: target.projector.writesCanBeHeld ? cache : nil, decoded: decoded, lastSequence: last)
        }
        self.init(targets.map(\.projector), stores: stores, cache: cache, retaining: retaining, transaction: txn)
        for (projector, store) in zip(projectors, stores) { try projector.settle(through: last, in: store) }
    }

    /// A lane's folder: every target's databases must be held in `cache` (none duplicate-sorted).
    /// A lane folding the next batch ahead reads `previousBatch`'s cells before `txn`.
    init(
        lane targets: [(projector: any Projector, slot: UInt8)], slots: [String: [DatabaseHandles]],
        reading txn: Transaction,
        cache: WriteBackCache, previousBatch: WriteBackCache? = nil, journal: JournalBuffer, through last: UInt64
    ) {
        let decoded = DecodedPayload()
        let stores = targets.map { target in
            precondition(target.projector.writesCanBeHeld, "a rebuild lane holds every write in its cache")
            return ProjectionStore(
                lane: txn, handles: slots[target.projector.name]![Int(target.slot)], cache: cache,
                previousBatch: previousBatch, journal: journal,
                decoded: decoded, lastSequence: last)
        }
        self.init(targets.map(\.projector), stores: stores, cache: cache, retaining: true, transaction: nil)
    }

    private init(
        _ projectors: [any Projector], stores: [ProjectionStore], cache: WriteBackCache?, retaining: Bool,
        transaction: WriteTransaction?
    ) {
        self.projectors = projectors
        self.stores = stores
        self.cache = cache
        self.retaining = retaining
        self.transaction = transaction
        // Which targets read each event type: one hash per event instead of one per projector.
        var routes: [String: [Int]] = [:]
        for (index, projector) in projectors.enumerated() {
            for type in projector.eventTypes { routes[type, default: []].append(index) }
        }
        self.routes = routes
        readTypes = routes.keys.sorted().map { Array($0.utf8) }
        inPlaceRoutes = InPlaceRoutes(projectors)
    }

    /// Folds events `first...last` of the log's `events` database as `txn` sees them, and
    /// hands each, parsed, to `feed` (for a lane's helper) when given. Returns the last
    /// sequence folded: `last`, or in a lane whose cache outgrew its bound, an earlier one.
    func fold(
        from first: UInt64, through last: UInt64, events: Database, in txn: Transaction, feeding feed: RecordFeed? = nil
    ) throws -> UInt64 {
        defer { feed?.finish() }
        guard first <= last else { return last }
        let parses = !inPlaceRoutes.isEmpty || feed != nil
        return try txn.withCursor(on: events) { cursor in
            var entry = try withUnsafeBytes(of: first.bigEndian) { try cursor.seek(atOrAfter: $0) }
            while let current = entry {
                let sequence = UInt64(bigEndian: current.key.loadUnaligned(as: UInt64.self))
                guard sequence <= last else { break }
                // The next record first, so that its bytes load while this one folds: parsing
                // waited on memory for most of its time (a record's values stay where they are
                // until the transaction ends; nothing here writes the log).
                entry = try cursor.next()
                if let next = entry?.value { Self.prefetch(next) }
                let view = parses ? EventRecordView(record: current.value) : nil
                feed?.add(sequence: sequence, record: current.value, view: view)
                try fold(record: current.value, view: view)
                if try !makeRoom() { return sequence }
            }
            return last
        }
    }

    /// Starts loading a record's first cache lines (an engine's usage record is about 190 bytes),
    /// and those where the record after it most likely lies. LMDB adds each node of a leaf page
    /// just below the one added before, and the log appends in sequence order, so the next
    /// record is usually the node just below this one (its 8-byte header and 8-byte key, then
    /// its value): once the record itself was prefetched, moving the cursor onto the next one
    /// waited on memory instead. A wrong guess (the next record on another page) loads lines
    /// that go unused, nothing more.
    private static func prefetch(_ record: UnsafeRawBufferPointer) {
        guard let start = record.baseAddress else { return }
        let count = min(record.count, 256)
        for offset in stride(from: 0, to: count, by: 64) { tally_prefetch_for_reading(start + offset) }
        // This node's start is 16 bytes before its value; the one below begins about a node's
        // size lower (a value of about the same length, its header and key).
        let below = start - 16 - (16 + count)
        for offset in stride(from: 0, to: 16 + count, by: 64) { tally_prefetch_for_reading(below + offset) }
    }

    /// Folds the records `feed` hands over until it is finished (a lane's helper). Returns the
    /// last sequence folded: `last`, or an earlier one if the cache outgrew its bound.
    func fold(_ feed: RecordFeed, through last: UInt64) throws -> UInt64 {
        while let chunk = feed.nextChunk() {
            for item in chunk {
                try fold(record: item.record, view: item.view)
                if try !makeRoom() { return item.sequence }
            }
        }
        return last
    }

    /// Folds the event stored as `record`, its envelope `view` read in place (nil when it was
    /// not, or could not be): in place for the targets that can, through a decoded
    /// `StoredEvent` for the others (and for every event no target folds in place).
    private func fold(record: UnsafeRawBufferPointer, view: EventRecordView?) throws {
        guard let view, let route = inPlaceRoutes.route(of: view.eventType) else {
            // A well-formed envelope (the view takes nothing else) of a type no target reads
            // only advances the checkpoint: a lane's helper meets many.
            if let view,
                !readTypes.contains(where: { type in
                    type.count == view.eventType.count && type.withUnsafeBytes { $0.elementsEqual(view.eventType) }
                })
            {
                return
            }
            return try fold(try StoredEvent(record: record))
        }
        try RecordFold.fold(
            record, view: view, readers: route.readers, inPlace: route.inPlace, projectors: projectors,
            meter: meter?.samplesNextEvent() == true ? meter : nil, store: { stores[$0] })
    }

    /// Folds `events` (read from another log: a snapshot's).
    func fold(_ events: [StoredEvent]) throws {
        for event in events {
            try fold(event)
            _ = try makeRoom()
        }
    }

    private func fold(_ event: StoredEvent) throws {
        guard let readers = routes[event.eventType] else { return }
        for index in readers {
            let start = meter == nil ? 0 : FoldCostMeter.now()
            try projectors[index].apply(event, to: stores[index])
            meter?.add(index, since: start)
        }
    }

    /// Past `heldBytesLimit` of held writes, writes them out (the batch goes on) and returns
    /// true; a lane, which cannot write, returns false to stop there.
    private func makeRoom() throws -> Bool {
        guard let cache, cache.byteCount > heldBytesLimit else { return true }
        guard let transaction else { return false }
        try cache.flush(into: transaction)
        return true
    }

    func finish() throws {
        guard let transaction else { return }
        try cache?.flush(into: transaction, retaining: retaining)
    }
}
