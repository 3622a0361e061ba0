import EventLog
import LMDB

extension ProjectionSet {
    /// How far a rebuild has come: events folded so far, of how many.
    public struct RebuildProgress: Sendable {
        public var projector: String
        public var folded: UInt64
        public var total: UInt64
    }

    /// Rebuilds every projector whose version changed or that has never been built, so that
    /// all are current. Call once after opening the log.
    public func synchronize(batchSize: Int = 50_000, progress: ((RebuildProgress) -> Void)? = nil) throws {
        for projector in projectors {
            let state = try environment.read { try Self.state(of: projector.name, in: $0, stateDatabase) }
            if state?.version != projector.version {
                try rebuild(projector.name, batchSize: batchSize, progress: progress)
            }
        }
    }

    /// Replays the whole log into projector `name`'s idle slot, in write transactions of
    /// `batchSize` events, then folds what arrived meanwhile and makes that slot live, in one
    /// transaction. Appends go on meanwhile; readers see the old model until the switch.
    public func rebuild(_ name: String, batchSize: Int = 50_000, progress: ((RebuildProgress) -> Void)? = nil) throws {
        guard let projector = projectors.first(where: { $0.name == name }) else { preconditionFailure("no projector named \(name)") }
        let live = try environment.read { try Self.state(of: name, in: $0, stateDatabase) } ?? .fresh
        let target: UInt8 = live.slot == 0 ? 1 : 0
        try clear(projector, slot: target)

        // Bulk: batches in their own transactions, up to the head as it was when each began.
        var next: UInt64 = 1
        while true {
            let head = try currentHead()
            guard head >= next else { break }
            let last = min(head, next + UInt64(max(1, batchSize)) - 1)
            try environment.write { txn in try fold(projector, slot: target, from: next, through: last, in: txn) }
            progress?(RebuildProgress(projector: name, folded: last, total: head))
            next = last + 1
            if last == head { break }
        }

        // Switch: whatever was appended since, then the slot flip, atomically.
        try environment.write { txn in
            let head = try head(in: txn)
            try fold(projector, slot: target, from: next, through: head, in: txn)
            try write(ProjectionState(slot: target, version: projector.version, checkpoint: head), of: name, in: txn)
        }
        // The old slot is no longer read by new transactions; readers still on it keep their
        // snapshot (LMDB is MVCC), so clearing it is safe and frees its pages.
        try clear(projector, slot: live.slot)
    }

    private func clear(_ projector: any Projector, slot: UInt8) throws {
        try environment.write { txn in
            for database in slots[projector.name]![Int(slot)].values { try txn.removeAll(in: database) }
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

    /// Every key and value of projector `name`'s live databases, in order: for comparing a
    /// projection kept incrementally with a rebuilt one, byte for byte.
    public func dump(_ name: String) throws -> [String: [([UInt8], [UInt8])]] {
        try read(name) { reader in
            var result: [String: [([UInt8], [UInt8])]] = [:]
            for (declared, database) in reader.handles {
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
