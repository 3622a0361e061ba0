import LMDB

/// The journal entries a rebuild lane appends (`ProjectionStore.journal`), held in memory
/// until the batch's thread writes them, in the order they came, into its write transaction:
/// the same entries, under the same keys, as appending them straight away would have written.
/// `@unchecked Sendable`: the lane's thread fills it, then hands it over (`RebuildLanes`).
final class JournalBuffer: @unchecked Sendable {
    private var bytes: [UInt8] = []
    private var entries: [(database: Database, sequence: UInt64, range: Range<Int>)] = []

    func append(
        _ count: Int, sequence: UInt64, in database: Database, fill: (UnsafeMutableRawBufferPointer) throws -> Void
    ) throws {
        let start = bytes.count
        bytes.append(contentsOf: repeatElement(0, count: count))
        try bytes.withUnsafeMutableBytes { try fill(UnsafeMutableRawBufferPointer(rebasing: $0[start...])) }
        entries.append((database, sequence, start..<bytes.count))
    }

    /// Appends the held entries to their databases in `transaction` and forgets them.
    func write(into transaction: WriteTransaction) throws {
        try bytes.withUnsafeBytes { bytes in
            for entry in entries {
                try withUnsafeBytes(of: entry.sequence.bigEndian) { key in
                    try transaction.reserve(entry.range.count, forKey: key, in: entry.database, options: .append) {
                        $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[entry.range]))
                    }
                }
            }
        }
        reset()
    }

    func reset() {
        bytes.removeAll(keepingCapacity: true)
        entries.removeAll(keepingCapacity: true)
    }
}
