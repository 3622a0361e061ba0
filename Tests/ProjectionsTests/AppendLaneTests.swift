import EventLog
import Foundation
import LMDB
@testable import Projections
import Testing

/// Per organization, the total quantity, folded in place from the record; every event also
/// journaled, and the journal merged into per-organization event counts in blocks of 64
/// sequences when settled: the writes, reads and journal entries an append's helper holds
/// for the writer (`AppendLane`). A quantity of 13 is declined in place and folded from the
/// decoded event; "test.other" events are folded from the decoded event only, on the writer.
struct LaneTotals: Projector {
    let name = "lane_totals"
    let version: UInt32 = 1
    let eventTypes: Set<String> = ["test.usage", "test.other"]
    let inPlaceEventTypes: Set<String> = ["test.usage"]
    let databases: [String: DatabaseOptions] = ["totals": [], "journal": [], "counts": []]
    static let block: UInt64 = 64

    func applyInPlace(_ event: EventRecordView, to store: ProjectionStore) throws -> Bool {
        let quantity = Self.quantity(String(decoding: event.payload, as: UTF8.self))
        guard quantity != 13 else { return false }
        try fold(quantity, organization: Array(event.organizationID), sequence: event.sequence, store)
        return true
    }

    func apply(_ event: StoredEvent, to store: ProjectionStore) throws {
        let quantity = event.eventType == "test.other" ? 1_000 : Self.quantity(String(decoding: event.payload, as: UTF8.self))
        try fold(quantity, organization: Array(event.organizationID.utf8), sequence: event.sequence, store)
    }

    func settle(through sequence: UInt64, in store: ProjectionStore) throws {
        try store.drainJournal(store.database("journal"), below: sequence / Self.block * Self.block) { _, entry in
            try Self.add(1, key: Array(entry), in: store.database("counts"), store)
        }
    }

    private func fold(_ quantity: UInt64, organization: [UInt8], sequence: UInt64, _ store: ProjectionStore) throws {
        try Self.add(quantity, key: organization, in: store.database("totals"), store)
        // An entry that the end of the fold, when known, will have merged is merged now: what
        // the projection holds must not depend on how the events were batched (`settle`).
        if let last = store.lastSequence, sequence < last / Self.block * Self.block {
            return try Self.add(1, key: organization, in: store.database("counts"), store)
        }
        try store.journal(organization.count, sequence: sequence, in: store.database("journal")) { $0.copyBytes(from: organization) }
    }

    private static func add(_ amount: UInt64, key: [UInt8], in database: Database, _ store: ProjectionStore) throws {
        try store.update(8, forKey: key, in: database) { old, new in
            new.storeBytes(of: ((old.map { UInt64(bigEndian: $0.loadUnaligned(as: UInt64.self)) } ?? 0) + amount).bigEndian, as: UInt64.self)
        }
    }

    private static func quantity(_ payload: String) -> UInt64 {
        payload.split(separator: "=").last.flatMap { UInt64($0) } ?? 0
    }

    /// What the totals must be for `events`, from scratch.
    static func expected(_ events: [StoredEvent]) -> [String: UInt64] {
        var totals: [String: UInt64] = [:]
        for event in events {
            totals[event.organizationID, default: 0] += event.eventType == "test.other" ? 1_000 : quantity(String(decoding: event.payload, as: UTF8.self))
        }
        return totals
    }

    static func totals(in projections: ProjectionSet) throws -> [String: UInt64] {
        Dictionary(uniqueKeysWithValues: try projections.dump("lane_totals")["totals", default: []].map { key, value in
            (String(decoding: key, as: UTF8.self), value.withUnsafeBytes { UInt64(bigEndian: $0.loadUnaligned(as: UInt64.self)) })
        })
    }
}

@Suite("Projections: usage folded on the helper during appends", .serialized)
struct AppendLaneTests {
    /// Random requests of 1 to `upTo` events, quantities 0 to 20 (13 declined in place),
    /// one in eight a "test.other" that the writer folds after waiting for the helper.
    static func requests(_ count: Int, upTo: Int, _ random: inout SeededGenerator) -> [[EventDraft]] {
        (0..<count).map { _ in
            (0..<Int.random(in: 1...upTo, using: &random)).map { _ in
                let organization = "org_\(Int.random(in: 0..<40, using: &random))"
                return Int.random(in: 0..<8, using: &random) == 0
                    ? Fixture.other(organization) : Fixture.usage(organization, Int.random(in: 0...20, using: &random), day: Int.random(in: 0..<3, using: &random))
            }
        }
    }

    /// The projection as appends left it equals its rebuild and the totals computed from the log.
    static func expectRebuildEqual(_ log: EventLog, _ projections: ProjectionSet, _ comment: Comment) throws {
        let events = try log.events(from: 1, limit: .max)
        #expect(try LaneTotals.totals(in: projections) == LaneTotals.expected(events), comment)
        let kept = flatten(try projections.dump("lane_totals"))
        try projections.rebuild("lane_totals", batchSize: 53)
        let rebuilt = flatten(try projections.dump("lane_totals"))
        #expect(Set(kept.keys) == Set(rebuilt.keys), comment)
        for (database, entries) in kept where rebuilt[database] != entries {
            Issue.record("\(database): kept \(entries.count / 2) entries, rebuilt \((rebuilt[database]?.count ?? 0) / 2) (\(comment))")
        }
    }

    @Test("requests of many usage events, appended alone and in group commits: folded on the helper, the bytes are those of a rebuild")
    func bytesEqualRebuild() async throws {
        let seed = TestEnvironment.seed()
        var random = SeededGenerator(seed: seed)
        let directory = Fixture.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (log, projections) = try Fixture.open(directory, projectors: [LaneTotals(), UsageTotals()], mapSize: 1 << 26)
        let rounds = TestEnvironment.iterations(default: 60)
        for _ in 0..<rounds {
            // Several requests at once share a commit: the helper must be done with each
            // before the next is decided.
            let requests = Self.requests(Int.random(in: 1...4, using: &random), upTo: 300, &random)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for request in requests { group.addTask { _ = try await log.append(contentsOf: request) } }
                try await group.waitForAll()
            }
        }
        if HelperThreads.haveSecondCore { #expect(projections.requestsFoldedOnHelper > 0, "seed \(seed)") }
        try Self.expectRebuildEqual(log, projections, "seed \(seed)")
        // The other projector reads the same events without folding them in place: on the writer.
        #expect(try projections.checkpoint(of: "usage_totals").sequence == log.head()?.sequence)
    }

    @Test("every reader slot taken: the writer folds what the helper could not")
    func noReaderSlot() throws {
        let directory = Fixture.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var environmentOptions = EnvironmentOptions()
        environmentOptions.maxReaders = 4
        environmentOptions.mapSize = 1 << 24
        let environment = try Environment.open(at: directory, options: environmentOptions)
        let projections = try ProjectionSet(environment: environment, projectors: [LaneTotals()])
        var options = EventLogOptions(registry: Fixture.registry, environment: environmentOptions)
        options.observer = projections
        let log = try EventLog(directory: directory, options: options)
        try projections.synchronize()
        var random = SeededGenerator(seed: 7)
        _ = try log.appendSynchronously(contentsOf: Self.requests(1, upTo: 1, &random)[0])

        // Readers on other threads hold every slot while a large request appends.
        let holding = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let readers = DispatchGroup()
        var held = 0
        for _ in 0..<environmentOptions.maxReaders {
            readers.enter()
            Thread.detachNewThread {
                defer { readers.leave() }
                _ = try? environment.read { _ in
                    holding.signal()
                    release.wait()
                }
            }
        }
        for _ in 0..<environmentOptions.maxReaders where holding.wait(timeout: .now() + 10) == .success { held += 1 }
        let before = projections.requestsFoldedOnHelper
        let request = (0..<500).map { Fixture.usage("org_\($0 % 7)", $0 % 21) }
        _ = try log.appendSynchronously(contentsOf: request)
        for _ in 0..<environmentOptions.maxReaders { release.signal() }
        readers.wait()
        #expect(held == environmentOptions.maxReaders)
        #expect(projections.requestsFoldedOnHelper == before, "no reader: the helper folded nothing")
        try Self.expectRebuildEqual(log, projections, "no reader slot")
    }

    @Test("the map grows while the helper folds: the retried transaction folds each event once")
    func mapGrowth() throws {
        let directory = Fixture.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (log, projections) = try Fixture.open(directory, projectors: [LaneTotals()], mapSize: 1 << 16)
        for round in 0..<3 {
            _ = try log.appendSynchronously(contentsOf: (0..<3_000).map { Fixture.usage("org_m\($0 % 50)", $0 % 21, key: "m\(round)-\($0)") })
        }
        #expect(log.environment.mapGrowths >= 1)
        try Self.expectRebuildEqual(log, projections, "map growth")
    }

    @Test("a gap folded into LMDB by the first request of a group commit: the helper sits out the rest of that commit")
    func gapInGroupCommit() async throws {
        let directory = Fixture.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (log, projections) = try Fixture.open(directory, projectors: [LaneTotals()], mapSize: 1 << 24)
        // The same log without the projection, as another process would append: a gap.
        let bare = try EventLog(directory: directory, options: EventLogOptions(registry: Fixture.registry))
        for round in 0..<5 {
            // Many organizations, so that most are first met after the writer handed over.
            _ = try bare.appendSynchronously(contentsOf: (0..<300).map { Fixture.usage("org_\($0 % 150)", ($0 + round) % 21) })
            // The writer thread held up while a small request and a large one queue: one commit.
            let release = DispatchSemaphore(value: 0)
            log.environment.submitToWriter { release.wait() }
            async let small = log.append(contentsOf: [Fixture.usage("org_1", 5)])
            async let large = log.append(contentsOf: (0..<400).map { Fixture.usage("org_\($0 % 150)", $0 % 21) })
            try await Task.sleep(for: .milliseconds(100))
            release.signal()
            _ = try await (small, large)
        }
        try Self.expectRebuildEqual(log, projections, "gap in a group commit")
    }

    @Test("events appended without the projection: the gap is folded first, then the helper takes the next requests")
    func gap() throws {
        let directory = Fixture.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        do {
            let bare = try EventLog(directory: directory, options: EventLogOptions(registry: Fixture.registry))
            _ = try bare.appendSynchronously(contentsOf: (0..<400).map { Fixture.usage("org_\($0 % 9)", $0 % 21) })
        }
        let (log, projections) = try Fixture.open(directory, projectors: [LaneTotals()], mapSize: 1 << 24)
        var random = SeededGenerator(seed: 11)
        for request in Self.requests(20, upTo: 400, &random) { _ = try log.appendSynchronously(contentsOf: request) }
        try Self.expectRebuildEqual(log, projections, "gap")
    }
}
