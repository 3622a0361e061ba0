import Foundation
import LMDB

/// A rebuild's projectors in two lanes that fold each batch at the same time, on two cores:
/// the batch's own thread, which reads and parses the log for both lanes (`RecordFeed`), and
/// a helper thread, which reads what its cache lacks through a read transaction begun inside
/// the batch's write transaction (so it sees exactly what that one began from).
/// Projectors write only their own databases, so the lanes share nothing while they fold; the
/// helper's lane holds every write in its own cache and journal buffer, which the batch's
/// thread writes once both lanes are done. Each projector still folds every event in order, on
/// one thread at a time, so the bytes are those of a single lane (the rebuild tests compare).
///
/// Who takes the helper's lane is a matter of speed only. Every batch times each projector on
/// a sample of events, and the projectors are split so that the lanes' times are about even
/// (largest first, each to the lighter lane, the helper's on a tie: the batch's thread also
/// reads the log and writes out both lanes' cells). The first batches are short, the very
/// first in one lane, until two in a row propose the same split (or four have run); after
/// that, a batch's times move projectors only when the slower lane would get a tenth faster.
/// Only a projector whose writes can all be held (no duplicate-sorted database) may take the
/// helper's lane. With one core, or nothing worth moving, every batch folds in one lane.
final class RebuildLanes {
    /// How a rebuild splits its projectors; tests choose the split and a small cache bound.
    struct Options {
        /// The projectors for the helper's lane from the first batch on; nil: measure, then split.
        var helper: Set<String>?
        /// How many bytes of writes the helper's cache may hold before its lane stops and the
        /// batch's thread writes them and folds the rest of that batch.
        var helperHeldBytesLimit = 256 << 20

        static let automatic = Options()
    }

    private let targets: [(projector: any Projector, slot: UInt8)]
    private let options: Options
    /// Target indexes in each lane; `helper` empty while not split (or not worth splitting).
    private var own: [Int]
    private var helper: [Int] = []
    /// Whether batches are timed and the lanes rebalanced by what they took.
    private let balances: Bool
    /// Whether the split has settled (until then, batches are short): two short batches in a
    /// row proposed the same one, or `measuringBatches` of them have run.
    private var measured = false
    private var measuringBatchesRun = 0
    private var lastProposal: [Int]?
    private let ownCache = WriteBackCache()
    private let helperCache = WriteBackCache()
    private let helperJournal = JournalBuffer()

    init(_ targets: [(projector: any Projector, slot: UInt8)], options: Options = .automatic) {
        self.targets = targets
        self.options = options
        if let chosen = options.helper {
            let helper = targets.indices.filter { chosen.contains(targets[$0].projector.name) && targets[$0].projector.writesCanBeHeld }
            own = targets.indices.filter { !helper.contains($0) }
            self.helper = helper
            balances = false
        } else {
            own = Array(targets.indices)
            // Nothing to split, or no core to split onto: one lane throughout.
            balances = HelperThreads.haveSecondCore && targets.count >= 2
        }
        measured = !balances
        keepRetainedCellsBounded()
    }

    /// Two lanes keep as many clean cells between batches as one would: memory must not grow
    /// with the lanes (a rebuild's peak is bounded, docs/PERFORMANCE.md).
    private func keepRetainedCellsBounded() {
        ownCache.retainedBytes = helper.isEmpty ? 64 << 20 : 32 << 20
        helperCache.retainedBytes = 32 << 20
    }

    /// The projectors in the helper's lane, by name (for tests and reports).
    var helperNames: [String] { helper.map { targets[$0].projector.name } }
    /// The helper's lane after each split, in order (for tests).
    private(set) var splits: [[String]] = []


    /// Folds events `first...last` into every target in one write transaction of `set`'s
    /// environment, keeping each lane's cells in its cache for the next batch; then, unless the
    /// split was chosen, rebalances the lanes by the times this batch took.
    /// `head`: where the rebuild will have folded to before its slots go live (the log's head
    /// as this batch began), told to the projectors as the end of the run: no one reads the
    /// slots in between, so what they defer past each batch need not be settled batch by batch.
    func fold(from first: UInt64, through last: UInt64, head: UInt64, in set: ProjectionSet) throws {
        var meters: (own: FoldCostMeter, helper: FoldCostMeter)?
        var attempts = 0
        try set.environment.write { txn in
            attempts += 1
            if attempts > 1 {
                // A retry (the map grew): the aborted attempt's cells never reached LMDB.
                ownCache.reset()
                helperCache.reset()
                helperJournal.reset()
            }
            if balances { meters = (FoldCostMeter(projectors: own.count), FoldCostMeter(projectors: helper.count)) }
            try fold(from: first, through: last, head: head, in: txn, set, meters: meters)
        }
        guard let meters else { return }
        var costs = [UInt64](repeating: 0, count: targets.count)
        for (position, index) in own.enumerated() { costs[index] = meters.own.nanoseconds[position] }
        for (position, index) in helper.enumerated() { costs[index] = meters.helper.nanoseconds[position] }
        rebalance(by: costs)
    }

    /// How many events the next batch may fold, given the rebuild's batch size: until the split
    /// has settled, a short one (batch boundaries change no byte written), so that most of the
    /// log folds in two well-balanced lanes. A log's first events (plans, organizations,
    /// subscriptions) seldom cost what the rest does.
    func batchSize(_ requested: Int) -> Int {
        measured ? requested : min(requested, Self.measuringBatchSize)
    }

    static let measuringBatchSize = 16_384
    static let measuringBatches = 4

    /// Splits the projectors anew by the times a batch took (`split(_:movable:)`), when that
    /// would shorten the slower lane by a tenth or more; a batch that timed nothing (no event
    /// any projector reads) changes nothing. The first batches of a log are seldom like the
    /// rest (plans, organizations, subscriptions before the usage), so every batch counts.
    private func rebalance(by costs: [UInt64]) {
        guard costs.contains(where: { $0 > 0 }) else { return }
        let proposed = Self.split(costs, movable: targets.map(\.projector.writesCanBeHeld))
        if !measured {
            measuringBatchesRun += 1
            measured = proposed.helper == lastProposal || measuringBatchesRun >= Self.measuringBatches
            lastProposal = proposed.helper
        }
        guard proposed.helper != helper else { return }
        func slower(_ lanes: (own: [Int], helper: [Int])) -> UInt64 {
            max(lanes.own.reduce(0) { $0 + costs[$1] }, lanes.helper.reduce(0) { $0 + costs[$1] })
        }
        guard slower(proposed) * 10 <= slower((own, helper)) * 9 else { return }
        (own, helper) = proposed
        splits.append(helperNames)
        // A projector's clean cells live in its lane's cache: a moved one would leave stale
        // copies behind. Both start empty (LMDB holds everything after each batch).
        ownCache.reset()
        helperCache.reset()
        keepRetainedCellsBounded()
    }

    /// Target indexes for each lane, given each target's time and whether it may leave the
    /// batch's thread: those that may not are counted there from the start; then the others,
    /// largest first, each go to the lighter lane (the helper's on a tie). Every target stays
    /// on the batch's thread when either lane would be left empty.
    static func split(_ costs: [UInt64], movable: [Bool]) -> (own: [Int], helper: [Int]) {
        var own = costs.indices.filter { !movable[$0] }
        var helper: [Int] = []
        var ownLoad = own.reduce(0) { $0 + costs[$1] }
        var helperLoad: UInt64 = 0
        for index in costs.indices.filter({ movable[$0] }).sorted(by: { costs[$0] > costs[$1] }) {
            if helperLoad <= ownLoad {
                helper.append(index)
                helperLoad += costs[index]
            } else {
                own.append(index)
                ownLoad += costs[index]
            }
        }
        // One lane left empty (nothing measured, say): no split, no second thread.
        guard !own.isEmpty, !helper.isEmpty else { return (Array(costs.indices), []) }
        return (own.sorted(), helper.sorted())
    }

    private func fold(
        from first: UInt64, through last: UInt64, head: UInt64, in txn: WriteTransaction, _ set: ProjectionSet,
        meters: (own: FoldCostMeter, helper: FoldCostMeter)?
    ) throws {
        var folder = try BatchFolder(own.map { targets[$0] }, slots: set.slots, in: txn, cache: ownCache, retaining: true, through: head)
        folder.meter = meters?.own
        let helperMeter = meters?.helper
        guard !helper.isEmpty else {
            _ = try folder.fold(from: first, through: last, events: set.eventsDatabase, in: txn)
            return try folder.finish()
        }
        let helperTargets = helper.map { targets[$0] }
        // The helper's projectors on this thread: settling may drain journals, a write, so it
        // happens here before the helper starts; and if the helper stops early, the rest of its
        // run folds here too.
        let helperHere = try BatchFolder(helperTargets, slots: set.slots, in: txn, cache: helperCache, retaining: true, through: head)
        let feed = RecordFeed()
        let (environment, slots, events, limit) = (set.environment, set.slots, set.eventsDatabase, options.helperHeldBytesLimit)
        let (cache, journal) = (helperCache, helperJournal)
        let writer = WriterHandle(transaction: txn)
        let helperLane = HelperThreads.start {
            defer { feed.abandon() }
            return try environment.read(besides: writer.transaction) { reader in
                var lane = BatchFolder(lane: helperTargets, slots: slots, reading: reader, cache: cache, journal: journal, through: head)
                lane.heldBytesLimit = limit
                lane.meter = helperMeter
                return try lane.fold(feed, through: last)
            }
        }
        // This thread reads and parses the log once for both lanes, and writes its lane's
        // cells while the helper still folds: LMDB lets a write transaction write while a read
        // transaction reads.
        let ownResult = Result {
            _ = try folder.fold(from: first, through: last, events: events, in: txn, feeding: feed)
            try folder.finish()
        }
        let helperResult = helperLane.result()  // before anything can throw: the helper reads inside this transaction
        try ownResult.get()
        let reached = try helperResult.get()
        try helperCache.flush(into: txn, retaining: true)
        try helperJournal.write(into: txn)
        if reached < last {
            // The helper's cache reached its bound: the rest of its run folds here.
            _ = try helperHere.fold(from: reached + 1, through: last, events: events, in: txn)
            try helperHere.finish()
        }
    }
}

/// The batch's write transaction, for the helper to begin its read beside. Sendable because:
/// the helper only checks that it is open, which it stays until the helper is done.
private struct WriterHandle: @unchecked Sendable {
    let transaction: WriteTransaction
}
