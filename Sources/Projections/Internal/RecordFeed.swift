import EventLog
import Foundation

/// The records a rebuild batch's thread reads from the log, each with its envelope parsed in
/// place, handed in chunks to the helper thread that folds the other lane (`RebuildLanes`):
/// the log is read and parsed once for both lanes. The bytes stay valid while the batch's
/// write transaction is open, which outlasts the helper (the log is not written meanwhile).
///
/// `@unchecked Sendable`: the chunks cross threads only under `condition`, and each side
/// touches its own end alone.
final class RecordFeed: @unchecked Sendable {
    struct Item {
        let sequence: UInt64
        let record: UnsafeRawBufferPointer
        /// The envelope parsed in place; nil from an append's writer, whose helper parses it.
        let view: EventRecordView?
        /// For an append's helper: the projectors to fold the record into and which of them
        /// fold it in place (bit i: projector i). A rebuild lane routes records itself.
        var readers: UInt64 = 0
        var inPlace: UInt64 = 0
    }

    private var filling: [Item] = []
    private let condition = NSCondition()
    private var ready: [[Item]] = []
    private var nextReady = 0
    private var finished = false
    /// Set by the helper when it stops taking records: the batch's thread then never waits.
    private var abandoned = false
    /// Records per chunk: fewer chunks to hand over, against a later start for the helper.
    private let chunkSize: Int
    /// A rebuild's: its batches are long.
    static let defaultChunkSize = 256
    /// Chunks the batch's thread may run ahead of the helper before it waits.
    static let chunksAhead = 64

    init(chunkSize: Int = defaultChunkSize) {
        self.chunkSize = chunkSize
        filling.reserveCapacity(chunkSize)
    }

    /// Adds a record (batch's thread).
    func add(sequence: UInt64, record: UnsafeRawBufferPointer, view: EventRecordView?) {
        add(Item(sequence: sequence, record: record, view: view))
    }

    func add(_ item: Item) {
        filling.append(item)
        if filling.count == chunkSize { publish() }
    }

    /// Hands over the last records and tells the helper there are no more (batch's thread).
    func finish() {
        publish()
        condition.lock()
        finished = true
        condition.broadcast()
        condition.unlock()
    }

    private func publish() {
        guard !filling.isEmpty else { return }
        condition.lock()
        while ready.count - nextReady >= Self.chunksAhead && !abandoned { condition.wait() }
        if !abandoned { ready.append(filling) }
        condition.broadcast()
        condition.unlock()
        filling = []
        filling.reserveCapacity(chunkSize)
    }

    /// The next chunk, waiting for it; nil once the feed is finished and drained (helper).
    func nextChunk() -> [Item]? {
        condition.lock()
        defer { condition.unlock() }
        while nextReady == ready.count && !finished { condition.wait() }
        guard nextReady < ready.count else { return nil }
        let chunk = ready[nextReady]
        ready[nextReady] = []
        nextReady += 1
        condition.broadcast()
        return chunk
    }

    /// Stops taking records (helper): what is added from now on is dropped.
    func abandon() {
        condition.lock()
        abandoned = true
        condition.broadcast()
        condition.unlock()
    }
}
