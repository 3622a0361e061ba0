import EventLog
import LMDB

extension ProjectionSet {
    /// How far a rebuild has come: events folded so far, of how many.
    public struct RebuildProgress: Sendable {
        public var projector: String
        public var folded: UInt64
        public var total: UInt64
    }

    /// How many events a rebuild folds per write transaction by default. Each batch rewrites
    /// every cell it touched and commits, so larger batches rewrite fewer; what a batch holds
    /// in memory is bounded by its caches, not by its length. 200,000 measured about 5 to 8%
    /// faster than 100,000 and 250,000 no faster, with a peak of 152 MB over 10 million events
    /// (122 MB with 100,000; goal < 256 MB): docs/PERFORMANCE.md.
    public static let rebuildBatchSize = 200_000

    /// Rebuilds every projector whose version changed or that has never been built, so that
    /// all are current, in one pass over the log. Call once after opening the log.
    public func synchronize(
        batchSize: Int = ProjectionSet.rebuildBatchSize, progress: ((RebuildProgress) -> Void)? = nil
    ) throws {
        var stale: [String] = []
        for projector in projectors {
            let state = try environment.read { try Self.state(of: projector.name, in: $0, stateDatabase) }
            if state?.version != projector.version { stale.append(projector.name) }
        }
        if !stale.isEmpty { try rebuild(stale, batchSize: batchSize, progress: progress) }
    }

    /// Rebuilds projector `name`; see `rebuild(_:batchSize:progress:)`.
    public func rebuild(
        _ name: String, batchSize: Int = ProjectionSet.rebuildBatchSize, progress: ((RebuildProgress) -> Void)? = nil
    ) throws {
        try rebuild([name], batchSize: batchSize, progress: progress)
    }

    /// Rebuilds every projector.
    public func rebuildAll(
        batchSize: Int = ProjectionSet.rebuildBatchSize, progress: ((RebuildProgress) -> Void)? = nil
    ) throws {
        try rebuild(projectors.map(\.name), batchSize: batchSize, progress: progress)
    }

    /// Replays the whole log into the idle slot of each projector in `names`, in write
    /// transactions of `batchSize` events (`rebuildBatchSize` by default), on two cores where
    /// there are two: the projectors split into two lanes that fold each batch at once
    /// (`RebuildLanes`), each lane reading and decoding each event once for all of its
    /// projectors; then folds what arrived meanwhile and makes those slots live, in one
    /// transaction. Appends go on meanwhile; readers see the old models until the switch.
    public func rebuild(
        _ names: [String], batchSize: Int = ProjectionSet.rebuildBatchSize, progress: ((RebuildProgress) -> Void)? = nil
    ) throws {
        try rebuild(names, batchSize: batchSize, lanes: .automatic, progress: progress)
    }

    /// The same, with the lanes split as `lanes` says (tests choose the split); returns them.
    @discardableResult
    func rebuild(
        _ names: [String], batchSize: Int, lanes options: RebuildLanes.Options,
        progress: ((RebuildProgress) -> Void)? = nil
    ) throws -> RebuildLanes? {
        let chosen = names.map { name in
            guard let projector = projectors.first(where: { $0.name == name }) else {
                preconditionFailure("no projector named \(name)")
            }
            return projector
        }
        guard !chosen.isEmpty else { return nil }
        let live = try environment.read { txn in
            try chosen.map { try Self.state(of: $0.name, in: txn, stateDatabase) ?? .fresh }
        }
        let targets = zip(chosen, live).map { projector, state in
            (projector: projector, slot: state.slot == 0 ? UInt8(1) : UInt8(0))
        }
        try clear(targets.map { ($0.projector, $0.slot) })
        let label = chosen.count == 1 ? chosen[0].name : "all"

        // Bulk: batches in their own transactions, up to the head as it was when each began.
        let lanes = RebuildLanes(targets, options: options)
        defer { lanes.discardAhead() }
        var next: UInt64 = 1
        while true {
            let head = try currentHead()
            guard head >= next else { break }
            let last = min(head, next + UInt64(max(1, lanes.batchSize(batchSize))) - 1)
            try lanes.fold(from: next, through: last, head: head, batchSize: batchSize, in: self)
            // Memory must not grow with the log: let go of the pages this batch read.
            environment.releaseMappedPages()
            progress?(RebuildProgress(projector: label, folded: last, total: head))
            next = last + 1
            if last == head { break }
        }

        // Switch: whatever was appended since, then the slot flips, atomically.
        try environment.write { txn in
            let head = try head(in: txn)
            try fold(targets, from: next, through: head, in: txn)
            for target in targets {
                try write(
                    ProjectionState(slot: target.slot, version: target.projector.version, checkpoint: head),
                    of: target.projector.name, in: txn)
            }
        }
        // The old slots are no longer read by new transactions; readers still on them keep
        // their snapshot (LMDB is MVCC), so clearing them is safe and frees their pages.
        try clear(zip(chosen, live).map { ($0, $1.slot) })
        return lanes
    }

    /// Empties each projector's databases in the given slot, all in one transaction (a commit
    /// each cost a rebuild a flush to disk per projector, twice).
    private func clear(_ slotsToClear: [(projector: any Projector, slot: UInt8)]) throws {
        try environment.write { txn in
            for (projector, slot) in slotsToClear {
                for entry in slots[projector.name]![Int(slot)].entries { try txn.removeAll(in: entry.database) }
            }
        }
    }

    private func currentHead() throws -> UInt64 {
        try environment.read { try head(in: $0) }
    }

    /// The log's last sequence as `txn` sees it (0 for an empty log).
    private func head(in txn: Transaction) throws -> UInt64 {
        try txn.withCursor(on: eventsDatabase) { cursor in
            try cursor.last().map { UInt64(bigEndian: $0.key.loadUnaligned(as: UInt64.self)) } ?? 0
        }
    }

    /// A fingerprint of each of projector `name`'s live databases: 64-bit FNV-1a over every
    /// key and value, in order, each preceded by its length. Streams, so it serves for
    /// comparing the read models kept incrementally with a rebuild's (`tally rebuild --check`)
    /// at any size; unlike `dump`, it cannot show where two differ.
    public func digest(_ name: String) throws -> [String: UInt64] {
        try read(name) { reader in
            var result: [String: UInt64] = [:]
            for (declared, database) in reader.handles.entries {
                var hash: UInt64 = 0xCBF2_9CE4_8422_2325
                func add(_ bytes: UnsafeRawBufferPointer) {
                    withUnsafeBytes(of: UInt64(bytes.count).littleEndian) {
                        for byte in $0 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
                    }
                    for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
                }
                try reader.transaction.withCursor(on: database) { cursor in
                    var entry = try cursor.first()
                    while let current = entry {
                        add(current.key)
                        add(current.value)
                        entry = try cursor.next()
                    }
                }
                result[declared] = hash
            }
            return result
        }
    }

    /// Every key and value of projector `name`'s live databases, in order: for comparing a
    /// projection kept incrementally with a rebuilt one, byte for byte.
    public func dump(_ name: String) throws -> [String: [([UInt8], [UInt8])]] {
        try read(name) { reader in
            var result: [String: [([UInt8], [UInt8])]] = [:]
            for (declared, database) in reader.handles.entries {
                var entries: [([UInt8], [UInt8])] = []
                try reader.transaction.withCursor(on: database) { cursor in
                    var entry = try cursor.first()
                    while let current = entry {
                        entries.append((Array(current.key), Array(current.value)))
                        entry = try cursor.next()
                    }
                }
                result[declared] = entries
            }
            return result
        }
    }
}
