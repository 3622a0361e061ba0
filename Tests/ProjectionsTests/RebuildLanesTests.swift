import EventLog
import Foundation
import LMDB
import Testing

@testable import Projections

/// Counts events per organization in a duplicate-sorted database: its writes cannot be held
/// in a cache, so it must fold on the batch's thread whatever the split asks.
struct DuplicateSortedSeen: Projector {
    let name = "dup_seen"
    let version: UInt32 = 1
    let eventTypes: Set<String> = ["test.usage"]
    let databases: [String: DatabaseOptions] = ["seen": .duplicateSort]

    func apply(_ event: StoredEvent, to store: ProjectionStore) throws {
        try store.put(
            withUnsafeBytes(of: event.sequence.bigEndian) { Array($0) }, forKey: Array(event.organizationID.utf8),
            in: store.database("seen"))
    }
}

/// Counts events; armed, it throws on the first event whose payload says "quantity=13".
struct FailsOnThirteen: Projector {
    struct Refused: Error {}

    var armed = false
    let name = "fails_on_13"
    let version: UInt32 = 1
    let eventTypes: Set<String> = ["test.usage"]
    let databases: [String: DatabaseOptions] = ["count": []]

    func apply(_ event: StoredEvent, to store: ProjectionStore) throws {
        if armed, String(decoding: event.payload, as: UTF8.self).hasSuffix("=13") { throw Refused() }
        try store.update(8, forKey: Array("events".utf8), in: store.database("count")) { old, new in
            new.storeBytes(
                of: ((old.map { UInt64(bigEndian: $0.loadUnaligned(as: UInt64.self)) } ?? 0) + 1).bigEndian,
                as: UInt64.self)
        }
    }
}

/// Counts "test.other" events per organization, through the cache.
struct OtherCounts: Projector {
    var name = "other_counts"
    let version: UInt32 = 1
    let eventTypes: Set<String> = ["test.other"]
    let databases: [String: DatabaseOptions] = ["counts": []]

    func apply(_ event: StoredEvent, to store: ProjectionStore) throws {
        try store.update(8, forKey: Array(event.organizationID.utf8), in: store.database("counts")) { old, new in
            new.storeBytes(
                of: ((old.map { UInt64(bigEndian: $0.loadUnaligned(as: UInt64.self)) } ?? 0) + 1).bigEndian,
                as: UInt64.self)
        }
    }
}

@Suite("Projections: rebuild lanes", .serialized)
struct RebuildLanesTests {
    static func dumps(_ projections: ProjectionSet) throws -> [String: [String: [[UInt8]]]] {
        try Dictionary(uniqueKeysWithValues: projections.names.map { ($0, flatten(try projections.dump($0))) })
    }

    /// `appends` random requests of up to `upTo` events each: usage (five in six) and other events.
    static func appendRandomly(
        to log: EventLog, appends: Int, upTo: Int, organizations: Int, days: Int, _ random: inout SeededGenerator
    ) throws {
        for _ in 0..<appends {
            let batch = (0..<Int.random(in: 1...upTo, using: &random)).map { _ in
                Int.random(in: 0..<6, using: &random) == 0
                    ? Fixture.other("org_\(Int.random(in: 0..<organizations, using: &random))")
                    : Fixture.usage(
                        "org_\(Int.random(in: 0..<organizations, using: &random))",
                        Int.random(in: 0..<10_000, using: &random),
                        day: Int.random(in: 0..<days, using: &random))
            }
            _ = try log.appendSynchronously(contentsOf: batch)
        }
    }

    @Test(
        "projectors split between the lanes by hand, the helper's cache bound tiny or not: every rebuilt projection equals the one kept event by event"
    )
    func splitByHand() async throws {
        let seed = TestEnvironment.seed()
        var random = SeededGenerator(seed: seed)
        let directory = Fixture.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (log, projections) = try Fixture.open(
            directory, projectors: [UsageTotals(), KeyValueChurn(), DuplicateSortedSeen()], mapSize: 1 << 26)
        try Self.appendRandomly(
            to: log, appends: TestEnvironment.iterations(default: 60), upTo: 40, organizations: 4, days: 3, &random)
        let incremental = try Self.dumps(projections)
        let splits: [(helper: Set<String>, limit: Int, batchSize: Int)] = [
            (["kv_churn"], 256 << 20, 37),
            (["usage_totals", "kv_churn"], 256 << 20, 100_000),
            // The helper stops after an event or so of each batch; the batch's thread folds the rest.
            (["kv_churn"], 1, 50),
            (["usage_totals", "kv_churn", "dup_seen"], 2_048, 7),
        ]
        for split in splits {
            try projections.rebuild(
                projections.names, batchSize: split.batchSize,
                lanes: .init(helper: split.helper, helperHeldBytesLimit: split.limit))
            #expect(try Self.dumps(projections) == incremental, "split \(split), seed \(seed)")
        }
        // Measured and split by the first batch's times.
        try projections.rebuildAll(batchSize: 61)
        #expect(try Self.dumps(projections) == incremental, "automatic split, seed \(seed)")
    }

    @Test(
        "a log whose events change kind half way: the lanes split anew when the times change, and the bytes stay those kept event by event"
    )
    func rebalancesMidRebuild() throws {
        let directory = Fixture.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let projectors: [any Projector] = [
            UsageTotals(), KeyValueChurn(), OtherCounts(name: "other_a"), OtherCounts(name: "other_b"),
        ]
        let (log, projections) = try Fixture.open(directory, projectors: projectors, mapSize: 1 << 27)
        // First only events the two counts read, then only usage (which the other two read).
        for batch in 0..<20 {
            _ = try log.appendSynchronously(
                contentsOf: (0..<1_000).map { Fixture.other("org_\((batch * 1_000 + $0) % 7)") })
        }
        for batch in 0..<40 {
            _ = try log.appendSynchronously(
                contentsOf: (0..<1_000).map { Fixture.usage("org_\($0 % 5)", batch * 1_000 + $0) })
        }
        let incremental = try Self.dumps(projections)
        let lanes = try #require(try projections.rebuild(projections.names, batchSize: 8_000, lanes: .automatic))
        #expect(try Self.dumps(projections) == incremental)
        // One count to each lane while only they work; then the usage projectors split.
        #expect(lanes.splits.count >= 2, "\(lanes.splits)")
        #expect(lanes.splits.first.map { Set($0).intersection(["other_a", "other_b"]).count } == 1, "\(lanes.splits)")
        #expect(
            lanes.splits.last.map { Set($0).intersection(["usage_totals", "kv_churn"]).count } == 1, "\(lanes.splits)")
    }

    @Test(
        "the split: those that cannot move stay, the rest largest first to the lighter lane; no split that leaves a lane empty"
    )
    func split() {
        #expect(
            RebuildLanes.split([300, 100, 50, 0], movable: [true, true, true, true]) == (own: [1, 2, 3], helper: [0]))
        #expect(RebuildLanes.split([100, 300, 250], movable: [false, true, true]) == (own: [0, 2], helper: [1]))
        #expect(RebuildLanes.split([500, 300, 250], movable: [false, true, true]) == (own: [0], helper: [1, 2]))
        #expect(RebuildLanes.split([0, 0, 0], movable: [true, true, true]) == (own: [0, 1, 2], helper: []))
        #expect(RebuildLanes.split([10, 900], movable: [true, false]) == (own: [1], helper: [0]))
        #expect(RebuildLanes.split([10, 900], movable: [false, false]) == (own: [0, 1], helper: []))
    }

    @Test(
        "a new split is taken when the slower lane gets a tenth faster, or, no slower, the batch's thread a tenth lighter"
    )
    func worthMoving() {
        // Two projectors swapping lanes: the heavier goes to the helper, not back.
        #expect(RebuildLanes.isWorthMoving([27, 62], from: (own: [1], helper: [0]), to: (own: [0], helper: [1])))
        #expect(!RebuildLanes.isWorthMoving([27, 62], from: (own: [0], helper: [1]), to: (own: [1], helper: [0])))
        // A tenth faster, or not enough faster to churn the caches.
        #expect(
            RebuildLanes.isWorthMoving(
                [50, 40, 30], from: (own: [0, 1], helper: [2]), to: (own: [0], helper: [1, 2])))
        #expect(
            !RebuildLanes.isWorthMoving(
                [50, 48, 47], from: (own: [0], helper: [1, 2]), to: (own: [1, 2], helper: [0])))
        // Lighter here but slower overall: no.
        #expect(
            !RebuildLanes.isWorthMoving(
                [10, 60, 20], from: (own: [0, 2], helper: [1]), to: (own: [0], helper: [1, 2])))
    }

    @Test(
        "a projector with a duplicate-sorted database stays on the batch's thread, even when asked into the helper's lane"
    )
    func duplicateSortedStays() {
        let targets: [(projector: any Projector, slot: UInt8)] = [(UsageTotals(), 0), (DuplicateSortedSeen(), 0)]
        #expect(
            RebuildLanes(targets, options: .init(helper: ["dup_seen", "usage_totals"])).helperNames == ["usage_totals"])
    }

    @Test(
        "a projector that throws in the helper's lane fails the rebuild with its error; the live projections stay as they were"
    )
    func helperFailure() throws {
        let directory = Fixture.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (log, projections) = try Fixture.open(directory, projectors: [UsageTotals(), FailsOnThirteen()])
        _ = try log.appendSynchronously(
            contentsOf: (0..<1_500).map { Fixture.usage("org_\($0 % 3)", $0 == 1_234 ? 13 : 1) })
        let live = try Self.dumps(projections)
        // The same projections, with the projector armed: its rebuild fails at event 1,235.
        let armed = try ProjectionSet(
            environment: log.environment, projectors: [UsageTotals(), FailsOnThirteen(armed: true)])
        for limit in [256 << 20, 1] {
            #expect(throws: FailsOnThirteen.Refused.self) {
                try armed.rebuild(
                    armed.names, batchSize: 200, lanes: .init(helper: ["fails_on_13"], helperHeldBytesLimit: limit))
            }
            #expect(try Self.dumps(projections) == live)
        }
        // Disarmed, the same split rebuilds and switches.
        try projections.rebuild(projections.names, batchSize: 200, lanes: .init(helper: ["fails_on_13"]))
        #expect(try Self.dumps(projections) == live)
    }

    @Test("a laned batch retried after the map grew starts both lanes from what LMDB holds")
    func mapGrowthRetry() throws {
        // Whether the helper has begun the next batch's fold when a batch is retried depends
        // on timing (on a loaded machine it may be late): up to five fresh logs in a small map,
        // until one retry discarded a fold ahead; every rebuild must give the same bytes.
        var discarded = 0
        for _ in 0..<5 where discarded == 0 {
            let directory = Fixture.directory()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let (log, projections) = try Fixture.open(
                directory, projectors: [WideCounters(), UsageTotals()], mapSize: 1 << 16)
            for batch in 0..<30 {
                _ = try log.appendSynchronously(
                    contentsOf: (0..<50).map { Fixture.usage("org_\($0 % 3)", batch * 50 + $0) })
            }
            let incremental = try Self.dumps(projections)
            let growthsBefore = log.environment.mapGrowths
            let lanes = try #require(
                try projections.rebuild(projections.names, batchSize: 40, lanes: .init(helper: ["wide_counters"])))
            #expect(
                log.environment.mapGrowths > growthsBefore,
                "the rebuild must have retried a batch for this test to mean anything")
            #expect(lanes.aheadsAdopted > 0)
            #expect(try Self.dumps(projections) == incremental)
            discarded += lanes.aheadsDiscarded
        }
        #expect(discarded > 0, "a retried batch discards the fold ahead it began")
    }

    @Test(
        "the helper folds each next batch ahead while the batch's thread commits: the bytes are those kept event by event"
    )
    func foldsAhead() throws {
        let seed = TestEnvironment.seed()
        var random = SeededGenerator(seed: seed)
        let directory = Fixture.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (log, projections) = try Fixture.open(
            directory, projectors: [UsageTotals(), KeyValueChurn(), OtherCounts(name: "other")], mapSize: 1 << 26)
        try Self.appendRandomly(
            to: log, appends: TestEnvironment.iterations(default: 40), upTo: 80, organizations: 6, days: 4, &random)
        let incremental = try Self.dumps(projections)
        for (helper, batchSize) in [
            (["kv_churn"], 53), (["usage_totals", "other"], 11), (["usage_totals", "kv_churn"], 200),
        ] {
            let lanes = try #require(
                try projections.rebuild(projections.names, batchSize: batchSize, lanes: .init(helper: Set(helper))))
            #expect(lanes.aheadsAdopted > 0, "helper \(helper), batch \(batchSize)")
            #expect(lanes.aheadsDiscarded == 0, "helper \(helper), batch \(batchSize)")
            #expect(try Self.dumps(projections) == incremental, "helper \(helper), batch \(batchSize), seed \(seed)")
        }
    }

    @Test(
        "events appended while a rebuild runs move its head: the batch folded ahead for the old head is discarded, the bytes stay right"
    )
    func headMovesDuringRebuild() throws {
        let directory = Fixture.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (log, projections) = try Fixture.open(
            directory, projectors: [UsageTotals(), KeyValueChurn()], mapSize: 1 << 26)
        _ = try log.appendSynchronously(contentsOf: (0..<2_000).map { Fixture.usage("org_\($0 % 5)", $0, day: $0 % 3) })
        var appended = 0
        let lanes = try #require(
            try projections.rebuild(projections.names, batchSize: 300, lanes: .init(helper: ["kv_churn"])) { _ in
                // Between batches, while the helper folds the next one ahead.
                guard appended < 4 else { return }
                appended += 1
                _ = try? log.appendSynchronously(
                    contentsOf: (0..<7).map { Fixture.usage("org_\($0 % 5)", 50_000 + appended * 10 + $0) })
            })
        #expect(appended == 4)
        #expect(lanes.aheadsDiscarded >= 1, "adopted \(lanes.aheadsAdopted), discarded \(lanes.aheadsDiscarded)")
        #expect(lanes.aheadsAdopted >= 1)
        // What the rebuild switched in equals the whole log, appends included, folded in one lane.
        let rebuilt = try Self.dumps(projections)
        try projections.rebuild(projections.names, batchSize: 100_000, lanes: .init(helper: []))
        #expect(rebuilt == (try Self.dumps(projections)))
    }
}
