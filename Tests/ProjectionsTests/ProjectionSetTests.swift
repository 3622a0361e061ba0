import EventLog
import Foundation
import LMDB
import Projections
import Testing

@Suite("Projections", .serialized)
struct ProjectionSetTests {
    @Test("random logs: the incrementally kept projection is byte-identical to a full rebuild, and right")
    func incrementalEqualsRebuild() async throws {
        let seed = TestEnvironment.seed()
        var random = SeededGenerator(seed: seed)
        let directory = Fixture.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (log, projections) = try Fixture.open(directory)
        for round in 0..<TestEnvironment.iterations(default: 200) {
            let batch = (0..<Int.random(in: 1...6, using: &random)).map { _ -> EventDraft in
                let organization = "org_\(Int.random(in: 0..<5, using: &random))"
                if Int.random(in: 0..<5, using: &random) == 0 { return Fixture.other(organization) }
                let key = Bool.random(using: &random) ? "k\(Int.random(in: 0..<300, using: &random))" : nil
                return Fixture.usage(
                    organization, key == nil ? Int.random(in: 1...50, using: &random) : 7, key: key,
                    day: Int.random(in: 0..<4, using: &random))
            }
            if Bool.random(using: &random) {
                _ = try await log.append(contentsOf: batch)
            } else {
                _ = try log.appendSynchronously(contentsOf: batch)
            }
            _ = round
        }
        let incremental = flatten(try projections.dump("usage_totals"))
        let events = try log.events(from: 1, limit: .max)
        for (organization, total) in Fixture.expectedTotals(events) {
            #expect(try UsageTotals.total(organization, in: projections) == total, "seed \(seed)")
        }
        #expect(try projections.checkpoint(of: "usage_totals").sequence == events.last?.sequence, "seed \(seed)")
        try projections.rebuild("usage_totals", batchSize: 37)
        #expect(flatten(try projections.dump("usage_totals")) == incremental, "seed \(seed)")
    }

    @Test("as of a sequence: a snapshot equals the projection of the log cut there, and leaves the live one alone")
    func asOf() throws {
        let directory = Fixture.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (log, projections) = try Fixture.open(directory)
        for index in 0..<300 {
            _ = try log.appendSynchronously(Fixture.usage("org_\(index % 3)", index, day: index / 100))
        }
        let live = flatten(try projections.dump("usage_totals"))
        let events = try log.events(from: 1, limit: .max)
        for cut in [UInt64(0), 1, 150, 299, 300] {
            let snapshot = try ProjectionSnapshot(of: log, asOf: cut, projectors: [UsageTotals()], batchSize: 64)
            #expect(snapshot.sequence == cut)
            for organization in ["org_0", "org_1", "org_2"] {
                let expected = Fixture.expectedTotals(Array(events.prefix(Int(cut))))[organization] ?? 0
                #expect(try UsageTotals.total(organization, in: snapshot.projections) == expected, "cut \(cut)")
            }
            if cut == 300 { #expect(flatten(try snapshot.projections.dump("usage_totals")) == live) }
        }
        #expect(flatten(try projections.dump("usage_totals")) == live)
        let midway = try #require(events.dropFirst(99).first)
        #expect(try ProjectionSnapshot.sequence(of: log, recordedAtOrBefore: midway.recordedAt) >= 100)
    }

    @Test("events appended without the projection attached are folded in by the next append")
    func gapsHealThemselves() throws {
        let directory = Fixture.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        do {
            let (log, _) = try Fixture.open(directory)
            _ = try log.appendSynchronously(Fixture.usage("org_a", 5))
        }
        // Another writer (a tool without projections) appends to the same log.
        do {
            let bare = try EventLog(directory: directory, options: EventLogOptions(registry: Fixture.registry))
            _ = try bare.appendSynchronously(contentsOf: (0..<20).map { Fixture.usage("org_a", $0) })
        }
        let (log, projections) = try Fixture.open(directory)
        #expect(try projections.checkpoint(of: "usage_totals").sequence == 1, "not yet folded")
        _ = try log.appendSynchronously(Fixture.usage("org_a", 1000))
        #expect(try UsageTotals.total("org_a", in: projections) == 5 + 190 + 1000)
        #expect(try projections.checkpoint(of: "usage_totals").sequence == 22)
    }

    @Test("a projector whose version changed is rebuilt on open")
    func versionChange() throws {
        let directory = Fixture.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        do {
            let (log, projections) = try Fixture.open(directory)
            _ = try log.appendSynchronously(contentsOf: (1...10).map { Fixture.usage("org_v", $0) })
            #expect(try UsageTotals.total("org_v", in: projections) == 55)
        }
        let (_, projections) = try Fixture.open(directory, projectors: [UsageTotals(version: 2)])
        #expect(try UsageTotals.total("org_v", in: projections) == 110)
        #expect(try projections.checkpoint(of: "usage_totals") == (10, 2))
    }

    @Test("a rebuild while tasks append: the result equals a rebuild from scratch")
    func rebuildDuringAppends() async throws {
        let directory = Fixture.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (log, projections) = try Fixture.open(directory)
        _ = try log.appendSynchronously(contentsOf: (0..<3000).map { Fixture.usage("org_\($0 % 7)", $0 % 13) })
        try await withThrowingTaskGroup(of: Void.self) { group in
            for task in 0..<20 {
                group.addTask {
                    for index in 0..<50 { _ = try await log.append(Fixture.usage("org_\(task % 7)", index)) }
                }
            }
            group.addTask { try projections.rebuild("usage_totals", batchSize: 250) }
            try await group.waitForAll()
        }
        let afterConcurrentRebuild = flatten(try projections.dump("usage_totals"))
        try projections.rebuild("usage_totals")
        #expect(flatten(try projections.dump("usage_totals")) == afterConcurrentRebuild)
        let events = try log.events(from: 1, limit: .max)
        #expect(events.count == 4000)
        for (organization, total) in Fixture.expectedTotals(events) {
            #expect(try UsageTotals.total(organization, in: projections) == total)
        }
    }

    @Test("a write retried after map growth folds each event once")
    func mapGrowthRetry() throws {
        let directory = Fixture.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (log, projections) = try Fixture.open(directory, mapSize: 1 << 16)
        _ = try log.appendSynchronously(
            contentsOf: (0..<5000).map { Fixture.usage("org_g\($0 % 50)", 1, key: "g\($0)") })
        #expect(log.environment.mapGrowths >= 1)
        for organization in (0..<50).map({ "org_g\($0)" }) {
            #expect(try UsageTotals.total(organization, in: projections) == 100)
        }
    }
}
