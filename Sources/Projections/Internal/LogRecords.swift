import LMDB

/// Reads the log's own records by sequence, for projections that journal sequences and read
/// the rest from the log (`ProjectionStore.forEachLogRecord`, `ProjectionReader.forEachLogRecord`).
enum LogRecords {
    /// Calls `body` with the record of each of `sequences` (ascending), or nil for one
    /// `events` lacks, through one cursor: a run of sequences lies side by side, one step
    /// apart, where a lookup each would search from the root.
    static func forEach(
        at sequences: [UInt64], in events: Database, through transaction: Transaction,
        _ body: (_ sequence: UInt64, _ record: UnsafeRawBufferPointer?) throws -> Void
    ) throws {
        guard !sequences.isEmpty else { return }
        try transaction.withCursor(on: events) { cursor in
            var current: (sequence: UInt64, record: UnsafeRawBufferPointer)?
            func position(_ entry: Cursor.Entry?) -> (sequence: UInt64, record: UnsafeRawBufferPointer)? {
                entry.map { (UInt64(bigEndian: $0.key.loadUnaligned(as: UInt64.self)), $0.value) }
            }
            for sequence in sequences {
                if let at = current?.sequence, at &+ 1 == sequence {
                    current = position(try cursor.next())
                } else if current?.sequence != sequence {
                    current = position(try withUnsafeBytes(of: sequence.bigEndian) { try cursor.seek(atOrAfter: $0) })
                }
                try body(sequence, current?.sequence == sequence ? current?.record : nil)
            }
        }
    }
}
