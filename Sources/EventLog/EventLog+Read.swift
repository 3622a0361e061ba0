import LMDB

extension EventLog {
    /// The last event's sequence and hash, or nil for an empty log.
    public func head() throws -> Checkpoint? {
        try environment.read { txn in
            try txn.withCursor(on: databases.events) { cursor in
                guard let entry = try cursor.last(), let key = SequenceKey(bytes: entry.key),
                    let hash = EventHash(bytes: entry.value)
                else {
                    return nil
                }
                return Checkpoint(sequence: key.sequence, hash: hash)
            }
        }
    }

    /// The event at `sequence`, or nil when there is none.
    public func event(at sequence: UInt64) throws -> StoredEvent? {
        try environment.read { txn in
            try SequenceKey(sequence).withUnsafeBytes { key in
                try txn.withValue(forKey: key, in: databases.events) { record in
                    try record.map(EnvelopeCoding.decodeRecord)
                }
            }
        }
    }

    /// Up to `limit` events from `sequence` on, in order.
    public func events(from sequence: UInt64, limit: Int) throws -> [StoredEvent] {
        var events: [StoredEvent] = []
        events.reserveCapacity(min(limit, 65_536))
        try environment.read { txn in
            try txn.withCursor(on: databases.events) { cursor in
                var entry = try SequenceKey(sequence).withUnsafeBytes { try cursor.seek(atOrAfter: $0) }
                while let current = entry, events.count < limit {
                    events.append(try EnvelopeCoding.decodeRecord(current.value))
                    entry = try cursor.next()
                }
            }
        }
        return events
    }

    /// The events whose sequences lie in `range`, in order.
    public func events(in range: ClosedRange<UInt64>) throws -> [StoredEvent] {
        let count = range.upperBound - range.lowerBound
        return try events(from: range.lowerBound, limit: count >= UInt64(Int.max) ? Int.max : Int(count) + 1)
            .filter { range.contains($0.sequence) }
    }

    /// One organization's events after `sequence`, in order, at most `limit` of them.
    /// Reads the per-organization index: one seek per 4,096 events of the log, then only the
    /// organization's own events.
    public func events(forOrganization organizationID: String, after sequence: UInt64 = 0, limit: Int = .max) throws
        -> [StoredEvent]
    {
        var events: [StoredEvent] = []
        guard !organizationID.isEmpty, sequence < UInt64.max else { return [] }
        try environment.read { txn in
            let head =
                try txn.withCursor(on: databases.events) {
                    try $0.last().flatMap { SequenceKey(bytes: $0.key)?.sequence }
                } ?? 0
            guard sequence < head else { return }
            try txn.withCursor(on: databases.organizationEvents) { cursor in
                for segment in ((sequence + 1) >> LogKeys.segmentShift)...(head >> LogKeys.segmentShift)
                where events.count < limit {
                    let key = LogKeys.organizationSegment(segment, organizationID: organizationID)
                    var entry = try key.withUnsafeBytes { key in
                        try SequenceKey(sequence + 1).withUnsafeBytes { first in
                            try cursor.seek(key: key, valueAtOrAfter: first)
                        }
                    }
                    while let current = entry, events.count < limit {
                        let record = try txn.withValue(forKey: current.value, in: databases.events) { record in
                            try record.map(EnvelopeCoding.decodeRecord)
                        }
                        guard let record else {
                            throw LMDBError(
                                code: .corrupted, message: "organization index names a missing event",
                                operation: "events(forOrganization:)")
                        }
                        events.append(record)
                        entry = try cursor.nextDuplicate()
                    }
                }
            }
        }
        return events
    }

    /// Calls `body` with every event from `sequence` on, in order, until it returns false.
    ///
    /// `body` runs inside a read transaction, renewed every `batchSize` events so that no
    /// reader stays open long: keep `body` quick, and do not write to the log from it.
    public func forEachEvent(from sequence: UInt64 = 1, batchSize: Int = 4096, _ body: (StoredEvent) throws -> Bool)
        throws
    {
        var next = sequence
        var finished = false
        while !finished {
            try environment.read { txn in
                try txn.withCursor(on: databases.events) { cursor in
                    var entry = try SequenceKey(next).withUnsafeBytes { try cursor.seek(atOrAfter: $0) }
                    var count = 0
                    while let current = entry, count < batchSize {
                        let event = try EnvelopeCoding.decodeRecord(current.value)
                        guard try body(event) else {
                            finished = true
                            return
                        }
                        next = event.sequence + 1
                        count += 1
                        entry = try cursor.next()
                    }
                    finished = entry == nil
                }
            }
        }
    }

    /// Every event from `sequence` on, for `for try await`. Reads in batches, each in its
    /// own short read transaction, so no transaction is held across an `await`.
    public func scan(from sequence: UInt64 = 1, batchSize: Int = 4096) -> EventScan {
        EventScan(log: self, start: sequence, batchSize: max(1, batchSize))
    }
}

/// The events of a log in sequence order, read lazily in batches.
public struct EventScan: AsyncSequence, Sendable {
    public typealias Element = StoredEvent

    let log: EventLog
    let start: UInt64
    let batchSize: Int

    public struct AsyncIterator: AsyncIteratorProtocol {
        let log: EventLog
        let batchSize: Int
        var next: UInt64
        var buffer: [StoredEvent] = []
        var position = 0
        var finished = false

        public mutating func next() async throws -> StoredEvent? {
            if position == buffer.count {
                guard !finished else { return nil }
                buffer = try log.events(from: next, limit: batchSize)
                position = 0
                finished = buffer.count < batchSize
                guard let last = buffer.last else { return nil }
                next = last.sequence + 1
            }
            defer { position += 1 }
            return buffer[position]
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(log: log, batchSize: batchSize, next: start)
    }
}
