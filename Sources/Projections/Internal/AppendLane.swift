import EventLog
import Foundation
import LMDB

/// Folds a request's usage on a helper thread while the writer thread writes the log: for a
/// batch of usage, the folds were a sixth of the writer thread's time, the log's own writes
/// about as much, and the second core sat idle through both.
///
/// The helper reads what it needs through a read transaction begun beside the write
/// transaction, which sees what that one began from (nobody else can commit while it is
/// open), and the held writes (`WriteBackCache`) over it: the clean cells of the last commit
/// and everything this transaction wrote to the projections so far. Together, exactly what
/// the write transaction sees of the databases the helper reads, for as long as no write goes
/// around the cache (a gap folded into LMDB, a cache emptied to bound its size: `bar(_:)`).
/// The helper's writes go to the cache and its journal entries to a buffer, written by the
/// writer once the helper is done (`finish(into:)`).
///
/// Only events whose every reader holds its writes go to the helper, and only after the
/// first few of a request (handing over costs a thread's wake-up, tens of microseconds).
/// Every other event waits for the helper first, so each projector still folds every event
/// in order, on one thread at a time: the bytes are those of folding on the writer alone (the
/// property tests compare appends with rebuilds). The writer waits for the helper at the end
/// of each request, before the next is decided, and before the transaction commits or aborts.
///
/// `@unchecked Sendable`: used only by the thread holding the write transaction, one at a
/// time (LMDB's writer lock orders them); the helper gets what it needs at `start`.
final class AppendLane: @unchecked Sendable {
    /// In-place events of a request folded on the writer before the helper takes the rest.
    static let eventsBeforeStarting = 32
    static let chunkSize = 64

    /// What the helper folds with: the projectors, by index, with each one's live slot (nil
    /// for one whose writes cannot be held, which the helper never folds). Sendable because:
    /// the helper only begins a read beside `writer`, which stays open until the writer has
    /// waited for the helper, and uses `cache` only while the writer leaves it alone.
    struct Context: @unchecked Sendable {
        let environment: Environment
        let writer: WriteTransaction
        let projectors: [any Projector]
        let handles: [DatabaseHandles?]
        let cache: WriteBackCache
    }

    private enum Outcome: Sendable {
        case folded
        /// Every reader slot was taken: the helper folded nothing, the writer folds it all.
        case noReader
    }

    private struct Running {
        let feed: RecordFeed
        let handle: HelperThreads.Handle<Outcome>
    }

    private var running: Running?
    /// The run of events handed over since the helper started: the projectors whose
    /// checkpoints they advance (bit i: projector i), and the last one's sequence. The writer
    /// advances the checkpoints once, when the helper is done (`finish`).
    private var run: (pending: UInt64, through: UInt64) = (0, 0)
    /// What was handed to the helper since it started, for the writer to fold if it cannot.
    private var fed: [RecordFeed.Item] = []
    private let records = RecordArena()
    private let journal = JournalBuffer()
    /// The write transaction (`Transaction.id`) in which something was written around the
    /// cache: the helper's view would miss it, so the lane stays shut until it ends.
    private var barredIn: UInt64?
    private var eventsInRequest = 0
    /// Whether the current request is streamed: the second core is deciding it.
    private var requestIsStreamed = false
    /// Requests whose events the helper folded (for tests and reports).
    private(set) var requestsFolded = 0
    /// The projectors handed events since the last commit or abort (bit i: projector i).
    private(set) var written: UInt64 = 0

    var isRunning: Bool { running != nil }

    /// Whether the helper should take the next in-place event of the current request in `txn`.
    func takesNext(in txn: WriteTransaction) -> Bool {
        if running != nil { return true }
        eventsInRequest += 1
        return eventsInRequest > Self.eventsBeforeStarting && !requestIsStreamed && barredIn != txn.id && HelperThreads.haveSecondCore
    }

    /// Something was written around the cache in `txn`: the helper may not run again in it.
    func bar(_ txn: WriteTransaction) {
        barredIn = txn.id
    }

    /// The current request is streamed (`AppendObserver.requestWillStream`): the helper stays
    /// out of it, since the second core is busy deciding it.
    func requestStreams() {
        requestIsStreamed = true
    }

    /// The current request ended: the next one starts counting its events afresh.
    func requestEnded() {
        eventsInRequest = 0
        requestIsStreamed = false
    }

    /// The projectors whose checkpoints the running helper's run advances, if event `sequence`
    /// continues it (the next in the log); nil when the helper is not running.
    func pendingOfRun(continuingAt sequence: UInt64) -> UInt64? {
        guard running != nil, sequence == run.through &+ 1 else { return nil }
        return run.pending
    }

    /// Starts the helper with `context`, for a run of events that advances the checkpoints of
    /// the projectors in `pending` (bit i: projector i).
    func start(_ context: Context, advancing pending: UInt64) {
        precondition(running == nil, "the helper runs already")
        running = startHelper(context)
        run = (pending, 0)
    }

    /// Hands the running helper `record` (copied: the writer reuses its buffer).
    func add(sequence: UInt64, record: UnsafeRawBufferPointer, readers: UInt64, inPlace: UInt64) {
        guard let running else { preconditionFailure("no helper to hand a record to") }
        run.through = sequence
        written |= readers
        // The view is parsed where the record is folded: the writer's time is the scarcer.
        let item = RecordFeed.Item(sequence: sequence, record: records.copy(record), view: nil, readers: readers, inPlace: inPlace)
        fed.append(item)
        running.feed.add(item)
    }

    /// Waits for the helper to fold everything handed to it, then writes its journal entries
    /// into `txn`. Returns what it could not fold (every reader slot was taken), which the
    /// writer must fold, in order, and the run's checkpoints to advance; throws what the
    /// helper threw.
    func finish(into txn: WriteTransaction) throws -> (unfolded: [RecordFeed.Item], run: (pending: UInt64, through: UInt64)) {
        guard let current = running else { return ([], (0, 0)) }
        running = nil
        let finished = run
        run = (0, 0)
        current.feed.finish()
        let outcome = current.handle.result()
        defer {
            fed.removeAll(keepingCapacity: true)
            records.reset()
        }
        switch outcome {
        case .success(.folded):
            requestsFolded += 1
            try journal.write(into: txn)
            return ([], finished)
        case .success(.noReader):
            return (fed, finished)
        case .failure(let error):
            journal.reset()
            throw error
        }
    }

    /// The transaction is aborting: waits for the helper and forgets what it folded (the
    /// cache is emptied by the next transaction, which cannot follow an aborted one).
    func abandon() {
        if let current = running {
            running = nil
            current.feed.finish()
            _ = current.handle.result()
        }
        run = (0, 0)
        fed.removeAll(keepingCapacity: true)
        records.reset()
        journal.reset()
        eventsInRequest = 0
        requestIsStreamed = false
        written = 0
    }

    /// The projectors handed events since the last call, commit or abort.
    func takeWritten() -> UInt64 {
        defer { written = 0 }
        return written
    }

    private func startHelper(_ context: Context) -> Running {
        let feed = RecordFeed(chunkSize: Self.chunkSize)
        let journal = journal
        let handle = HelperThreads.start { () throws -> Outcome in
            defer { feed.abandon() }
            do {
                return try context.environment.read(besides: context.writer) { reader in
                    let decoded = DecodedPayload()
                    let stores = context.handles.map { handles in
                        handles.map {
                            ProjectionStore(lane: reader, handles: $0, cache: context.cache, previousBatch: nil, journal: journal, decoded: decoded, lastSequence: nil)
                        }
                    }
                    while let chunk = feed.nextChunk() {
                        for item in chunk { try Self.fold(item, projectors: context.projectors, stores: stores) }
                    }
                    return .folded
                }
            } catch let error as LMDBError where error.code == .readersFull {
                return .noReader
            }
        }
        return Running(feed: feed, handle: handle)
    }

    /// Folds `item` into each of its readers' `stores` (by projector index), in order: in
    /// place where the projector can, else through the decoded event. The helper's fold, and
    /// the writer's when the helper could not fold.
    static func fold(_ item: RecordFeed.Item, projectors: [any Projector], stores: [ProjectionStore?]) throws {
        let view = item.inPlace & item.readers != 0 ? EventRecordView(record: item.record) : nil
        try RecordFold.fold(item.record, view: view, readers: item.readers, inPlace: item.inPlace, projectors: projectors, store: { stores[$0]! })
    }
}

/// Copies of records in memory that stays where it is until `reset()`: the helper reads
/// them while the writer adds more. In blocks, reused from request to request.
private final class RecordArena {
    private var blocks: [UnsafeMutableRawBufferPointer] = []
    /// The block being filled, and how much of it is.
    private var current = 0
    private var used = 0
    private static let blockSize = 1 << 16

    deinit {
        for block in blocks { block.deallocate() }
    }

    func copy(_ record: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        if current < blocks.count, used + record.count > blocks[current].count {
            current += 1
            used = 0
        }
        while current < blocks.count, record.count > blocks[current].count { current += 1 }
        if current == blocks.count {
            blocks.append(.allocate(byteCount: max(Self.blockSize, record.count), alignment: 8))
        }
        let destination = UnsafeMutableRawBufferPointer(rebasing: blocks[current][used..<(used + record.count)])
        destination.copyMemory(from: record)
        used += record.count
        return UnsafeRawBufferPointer(destination)
    }

    /// Forgets every copy. The first blocks are kept for the next request; the rest, which
    /// only a request of thousands of events needs, are freed.
    func reset() {
        while blocks.count > Self.blocksKept { blocks.removeLast().deallocate() }
        current = 0
        used = 0
    }

    private static let blocksKept = 16
}
