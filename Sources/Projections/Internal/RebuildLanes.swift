import Foundation
import LMDB
import TallySupport

/// A rebuild's projectors in two lanes that fold each batch at the same time, on two cores:
/// the batch's own thread, which reads and parses the log for both lanes (`RecordFeed`), and
/// a helper thread, which reads what its cache lacks through a read transaction begun inside
/// the batch's write transaction (so it sees exactly what that one began from).
/// Projectors write only their own databases, so the lanes share nothing while they fold; the
/// helper's lane holds every write in its own cache and journal buffer, which the batch's
/// thread writes once both lanes are done. Each projector still folds every event in order, on
/// one thread at a time, so the bytes are those of a single lane (the rebuild tests compare).
///
/// Once a batch's helper lane is done, the helper goes on to fold the next batch ahead
/// (`FoldAhead`) while the batch's thread writes both lanes' cells and commits, which used to
/// leave the helper idle for a third of each batch or more.
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
    /// The helper lane's cells and journal entries, in two sets: while the batch's thread
    /// writes one batch's and commits, the helper folds the next batch into the other
    /// (`FoldAhead`). `turn` is the current batch's.
    private let helperCaches = [WriteBackCache(), WriteBackCache()]
    private let helperJournals = [JournalBuffer(), JournalBuffer()]
    private var turn = 0
    /// The helper's fold of the next batch, begun once it had folded this one.
    private var ahead: FoldAhead?
    /// Batches the helper folded ahead that were used, and that were not (for tests and reports).
    private(set) var aheadsAdopted = 0
    private(set) var aheadsDiscarded = 0

    init(_ targets: [(projector: any Projector, slot: UInt8)], options: Options = .automatic) {
        self.targets = targets
        self.options = options
        if let chosen = options.helper {
            let helper = targets.indices.filter {
                chosen.contains(targets[$0].projector.name) && targets[$0].projector.writesCanBeHeld
            }
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
        for cache in helperCaches { cache.retainedBytes = 32 << 20 }
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
    /// `batchSize`: the rebuild's, so that the helper may fold the next batch ahead.
    func fold(from first: UInt64, through last: UInt64, head: UInt64, batchSize: Int, in set: ProjectionSet) throws {
        var meters: (own: FoldCostMeter, helper: FoldCostMeter)?
        var attempts = 0
        // The batch after this one, if the head stays where it is: what the helper folds ahead.
        let next = measured && last < head ? (last + 1)...min(head, last + UInt64(max(1, batchSize))) : nil
        var foldsAhead = false
        do {
            try set.environment.write { txn in
                attempts += 1
                if attempts > 1 {
                    // A retry (the map grew): the aborted attempt's cells never reached LMDB,
                    // and what the helper folded ahead from them is void.
                    discardAhead()
                    ownCache.reset()
                    for cache in helperCaches { cache.reset() }
                    for journal in helperJournals { journal.reset() }
                }
                if balances { meters = (FoldCostMeter(projectors: own.count), FoldCostMeter(projectors: helper.count)) }
                foldsAhead = try fold(from: first, through: last, head: head, in: txn, set, meters: &meters, next: next)
            }
        } catch {
            discardAhead()
            throw error
        }
        if foldsAhead { turn ^= 1 }
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

    /// Short enough that measuring costs little: these batches fold without the helper folding
    /// ahead, and the very first on one thread (16,384 measured: a 500,000-event log spent 40 to
    /// 100 ms more in its first three batches than the same events take once split; 4,096 and
    /// 2,048 within the noise of each other, docs/PERFORMANCE.md). Long enough that a batch's
    /// fixed costs (a commit, waking the helper) do not swamp its times: one event in 32 is
    /// timed, 128 per projector here.
    static let measuringBatchSize = 4_096
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
        guard proposed.helper != helper, Self.isWorthMoving(costs, from: (own, helper), to: proposed) else { return }
        // What the helper folds ahead was folded with the old split.
        discardAhead()
        (own, helper) = proposed
        splits.append(helperNames)
        // A projector's clean cells live in its lane's cache: a moved one would leave stale
        // copies behind. All start empty (LMDB holds everything after each batch).
        ownCache.reset()
        for cache in helperCaches { cache.reset() }
        keepRetainedCellsBounded()
    }

    /// Whether to move from the `current` split to `proposed`, given the targets' times: when
    /// the slower lane gets a tenth faster; or, no slower, the batch's thread gets a tenth
    /// less, since it also reads the log and writes both lanes' cells. (Two projectors that
    /// swap lanes time the same either way, and the heavier one must go to the helper: a log
    /// of usage rebuilt about a tenth faster once the rollups did, where the setup events
    /// at its start had put the quotas there.)
    static func isWorthMoving(
        _ costs: [UInt64], from current: (own: [Int], helper: [Int]), to proposed: (own: [Int], helper: [Int])
    ) -> Bool {
        func load(_ lane: [Int]) -> UInt64 { lane.reduce(0) { $0 + costs[$1] } }
        let slowerNow = max(load(current.own), load(current.helper))
        let slowerProposed = max(load(proposed.own), load(proposed.helper))
        let faster = slowerProposed * 10 <= slowerNow * 9
        let lighterHere = slowerProposed <= slowerNow && load(proposed.own) * 10 <= load(current.own) * 9
        return faster || lighterHere
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

    /// Folds the batch in `txn`, both lanes at once; returns whether the helper went on to
    /// fold batch `next` ahead (in the other cache) while this thread writes and commits.
    private func fold(
        from first: UInt64, through last: UInt64, head: UInt64, in txn: WriteTransaction, _ set: ProjectionSet,
        meters: inout (own: FoldCostMeter, helper: FoldCostMeter)?, next: ClosedRange<UInt64>?
    ) throws -> Bool {
        var folder = try BatchFolder(
            own.map { targets[$0] }, slots: set.slots, in: txn, cache: ownCache, retaining: true, through: head)
        folder.meter = meters?.own
        guard !helper.isEmpty else {
            _ = try folder.fold(from: first, through: last, events: set.eventsDatabase, in: txn)
            try folder.finish()
            return false
        }
        let helperTargets = helper.map { targets[$0] }
        let (cache, journal) = (helperCaches[turn], helperJournals[turn])
        let events = set.eventsDatabase
        let helperLane: HelperThreads.Handle<UInt64>
        var helperHere: BatchFolder?
        var feed: RecordFeed?
        let adopted = takeAhead(first: first, last: last, head: head)
        if let adopted {
            // The helper has been folding this batch since the last one was written: this
            // thread reads the log for its own lane only. (The helper's projectors were told
            // this head before an earlier batch; telling them again changes nothing.)
            helperLane = adopted.lane
            if let meter = adopted.meter { meters?.helper = meter }
        } else {
            // The helper's projectors on this thread first: settling may drain journals, a
            // write, so it happens before the helper starts.
            helperHere = try BatchFolder(
                helperTargets, slots: set.slots, in: txn, cache: cache, retaining: true, through: head)
            let records = RecordFeed()
            feed = records
            let (environment, slots, limit) = (set.environment, set.slots, options.helperHeldBytesLimit)
            let writer = WriterHandle(transaction: txn)
            let helperMeter = meters?.helper
            helperLane = HelperThreads.start {
                defer { records.abandon() }
                return try environment.read(besides: writer.transaction) { reader in
                    var lane = BatchFolder(
                        lane: helperTargets, slots: slots, reading: reader, cache: cache, journal: journal,
                        through: head)
                    lane.heldBytesLimit = limit
                    lane.meter = helperMeter
                    return try lane.fold(records, through: last)
                }
            }
        }
        // This thread reads and parses the log (for both lanes, unless the helper folded ahead),
        // and writes its lane's cells while the helper still folds: LMDB lets a write
        // transaction write while a read transaction reads.
        let ownResult = Result {
            _ = try folder.fold(from: first, through: last, events: events, in: txn, feeding: feed)
            try folder.finish()
        }
        let helperResult = helperLane.result()  // before anything can throw: the helper reads inside this transaction
        try ownResult.get()
        let reached: UInt64
        switch helperResult {
        case .success(let folded):
            reached = folded
            if adopted != nil { aheadsAdopted += 1 }
        case .failure where adopted != nil:
            // Folding ahead failed (no reader slot, the map grown by another process, or the
            // error a projector will throw again here): its lane folds here, from scratch.
            aheadsDiscarded += 1
            cache.reset()
            journal.reset()
            reached = first - 1
        case .failure(let error): throw error
        }
        // The helper's cells of this batch are complete: it may fold the next batch on top of
        // them while this thread writes them and commits.
        let foldsAhead =
            reached == last && next != nil && startAhead(next!, head: head, on: cache, set, metered: meters != nil)
        try cache.flush(into: txn, retaining: true, keepingAll: foldsAhead)
        try journal.write(into: txn)
        if reached < last {
            // The helper's cache reached its bound: the rest of its run folds here.
            let here =
                try helperHere
                ?? BatchFolder(helperTargets, slots: set.slots, in: txn, cache: cache, retaining: true, through: head)
            _ = try here.fold(from: reached + 1, through: last, events: events, in: txn)
            try here.finish()
        }
        return foldsAhead
    }

    // MARK: Folding ahead

    /// The helper's fold of the batch after the current one, begun as soon as it had folded
    /// the current one: while the batch's thread writes that batch's cells and commits (a
    /// third of its time or more, when the helper used to wait), the helper folds on. It reads
    /// the current batch's cells from their cache, which nothing changes until the next batch
    /// begins (the flush only marks them written), and the rest through a read transaction of
    /// its own, which sees what was committed before the current batch: together, exactly what
    /// the next batch's write transaction will see of the helper's databases. Its cells and
    /// journal entries go to the other cache and journal. The next batch adopts it only if it
    /// is the same batch (same first and last sequence, same head) folded with the same
    /// split; otherwise, as after any failure, it is discarded and that batch folds as usual.
    private struct FoldAhead {
        let first: UInt64
        let last: UInt64
        let head: UInt64
        let helper: [Int]
        let lane: HelperThreads.Handle<UInt64>
        let meter: FoldCostMeter?
        let cache: WriteBackCache
        let journal: JournalBuffer

        /// Waits for it to end, then forgets what it folded.
        func discard() {
            _ = lane.result()
            cache.reset()
            journal.reset()
        }
    }

    /// Starts the helper on `batch`, on top of `current`'s cells; false if it cannot begin
    /// (the other cache is still read, or there is no second core).
    private func startAhead(
        _ batch: ClosedRange<UInt64>, head: UInt64, on current: WriteBackCache, _ set: ProjectionSet, metered: Bool
    ) -> Bool {
        guard ahead == nil, HelperThreads.haveSecondCore else { return false }
        let (cache, journal) = (helperCaches[turn ^ 1], helperJournals[turn ^ 1])
        // It may hold cells older than the current batch's, which its lookups would find first.
        cache.reset()
        journal.reset()
        let helperTargets = helper.map { targets[$0] }
        let (environment, slots, events, limit) = (
            set.environment, set.slots, set.eventsDatabase, options.helperHeldBytesLimit
        )
        let meter = metered ? FoldCostMeter(projectors: helper.count) : nil
        let lane = HelperThreads.start {
            try environment.readWithoutWaiting { reader in
                var lane = BatchFolder(
                    lane: helperTargets, slots: slots, reading: reader, cache: cache, previousBatch: current,
                    journal: journal, through: head)
                lane.heldBytesLimit = limit
                lane.meter = meter
                return try lane.fold(from: batch.lowerBound, through: batch.upperBound, events: events, in: reader)
            }
        }
        ahead = FoldAhead(
            first: batch.lowerBound, last: batch.upperBound, head: head, helper: helper, lane: lane, meter: meter,
            cache: cache, journal: journal)
        return true
    }

    /// The fold ahead, if it is this batch's; otherwise discards it.
    private func takeAhead(first: UInt64, last: UInt64, head: UInt64) -> FoldAhead? {
        guard let pending = ahead, pending.first == first, pending.last == last, pending.head == head,
            pending.helper == helper
        else {
            discardAhead()
            return nil
        }
        ahead = nil
        return pending
    }

    /// Waits for the helper's fold ahead, if any, and forgets what it folded.
    func discardAhead() {
        guard let pending = ahead else { return }
        ahead = nil
        pending.discard()
        aheadsDiscarded += 1
    }
}

/// The batch's write transaction, for the helper to begin its read beside. Sendable because:
/// the helper only checks that it is open, which it stays until the helper is done.
private struct WriterHandle: @unchecked Sendable {
    let transaction: WriteTransaction
}
