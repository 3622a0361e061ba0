import Billing
import BillingEvents
import EventLog
import Foundation
import LMDB
import TallyTestSupport
import Testing

@testable import Projections
@testable import ReadModels

/// The usage rollups journal their user and resource cells' changes and merge them a block of
/// sequences at a time (`UsageRollupsProjector`). With blocks of 16 sequences, random usage
/// and corrections in random commits cross many merges: after every commit the member queries
/// must equal a fold of the log computed here from scratch, the journal must hold exactly the
/// head's block, and the bytes must equal a rebuild's and an as-of snapshot's.
/// TALLY_TEST_SEED and TALLY_TEST_ITERATIONS (commits) vary it.
@Suite("Usage rollups: the member journal")
struct MemberJournalTests {
    static let block: UInt64 = 16
    static let start = Date(timeIntervalSince1970: 1_760_000_000)  // 2025-10-09T08:53:20Z

    /// One member cell of the model: which organization, metric, day and member.
    struct Place: Hashable {
        var organization: String
        var metric: String
        var day: Int32
        var member: String
    }

    /// The member cells folded from scratch, one event at a time, as the projector must.
    struct Model {
        var users: [Place: UsageRollup] = [:]
        var resources: [Place: UsageRollup] = [:]

        mutating func fold(
            _ organization: String, _ metric: String, day: Int32, user: String, resource: String, _ change: UsageChange
        ) {
            if !user.isEmpty {
                change.apply(
                    to: &users[
                        Place(organization: organization, metric: metric, day: day, member: user),
                        default: UsageRollup()])
            }
            if !resource.isEmpty {
                change.apply(
                    to: &resources[
                        Place(organization: organization, metric: metric, day: day, member: resource),
                        default: UsageRollup()])
            }
        }
    }

    @Test func randomUsageAcrossManyMerges() async throws {
        let seed = TestEnvironment.seed()
        print("MemberJournalTests: TALLY_TEST_SEED=\(seed)")
        var random = SeededGenerator(seed: seed)
        let directory = TemporaryDirectory()
        let (log, projections) = try Self.open(directory.path)
        var model = Model()
        var snapshots: [(sequence: UInt64, dump: [String: [[UInt8]]], cells: [UsageRollupsProjector.Cell])] = []
        let organizations = ["org_a", "org_b", "org_c"]
        let metrics = ["api_calls", "storage_bytes"]
        let users = ["", "usr_1", "usr_2", "usr_3"]
        let resources = ["", "dash_1", "dash_2"]

        for commit in 0..<TestEnvironment.iterations(default: 120) {
            var drafts: [EventDraft] = []
            var changes: [(String, String, Int32, String, String, UsageChange)] = []
            for _ in 0..<Int.random(in: 1...12, using: &random) {
                let organization = organizations.randomElement(using: &random)!
                let metric = metrics.randomElement(using: &random)!
                let (user, resource) = (users.randomElement(using: &random)!, resources.randomElement(using: &random)!)
                let occurredAt = Self.start.addingTimeInterval(Double(Int.random(in: 0..<(4 * 86_400), using: &random)))
                let day = UTCDay.number(of: occurredAt)
                switch Int.random(in: 0..<10, using: &random) {
                case 0:  // an event the rollups do not read: the head may cross a block without usage
                    drafts.append(
                        EventDraft(
                            organizationID: organization, eventType: BillingEventType.organizationUpdated.rawValue,
                            occurredAt: occurredAt,
                            payload: Data([0x0A, 0x01, 0x41])))
                case 1:
                    var correction = Tally_V1_UsageCorrected()
                    (correction.metric, correction.userID, correction.resourceID) = (metric, user, resource)
                    correction.quantityDelta = Int64.random(in: -50...50, using: &random)
                    correction.originalOccurredAt = .init(date: occurredAt)
                    drafts.append(
                        EventDraft(
                            organizationID: organization, eventType: BillingEventType.usageCorrected.rawValue,
                            occurredAt: occurredAt,
                            payload: try correction.deterministicData()))
                    changes.append((organization, metric, day, user, resource, .correct(correction.quantityDelta)))
                default:
                    var usage = Tally_V1_UsageRecorded()
                    (usage.metric, usage.userID, usage.resourceID) = (metric, user, resource)
                    usage.quantity = Int64.random(in: 0...1_000, using: &random)
                    drafts.append(
                        EventDraft(
                            organizationID: organization, eventType: BillingEventType.usageRecorded.rawValue,
                            occurredAt: occurredAt,
                            payload: try usage.deterministicData()))
                    let nanoseconds = Int64(occurredAt.timeIntervalSince1970) * 1_000_000_000
                    changes.append(
                        (organization, metric, day, user, resource, .record(usage.quantity, at: nanoseconds)))
                }
            }
            _ = try log.appendSynchronously(contentsOf: drafts)
            for (organization, metric, day, user, resource, change) in changes {
                model.fold(organization, metric, day: day, user: user, resource: resource, change)
            }

            let head = try #require(try log.head()).sequence
            let journal = try projections.dump(UsageRollupsProjector.name)["member_journal"] ?? []
            let blockStart = head / Self.block * Self.block
            #expect(
                journal.allSatisfy {
                    UInt64(bigEndian: $0.0.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }) >= blockStart
                },
                "after commit \(commit) (head \(head)) the journal holds entries of an earlier block (seed \(seed))")
            for organization in organizations {
                try Self.expectCells(
                    of: organization, equal: model, in: projections, "after commit \(commit), seed \(seed)")
            }
            if commit % 17 == 5 {
                snapshots.append(
                    (
                        head, try projections.flatDump(UsageRollupsProjector.name),
                        try Self.memberCells(of: organizations, in: projections)
                    ))
            }
        }
        #expect(
            model.users.count > 20 && model.resources.count > 10,
            "the stream should fill many member cells (seed \(seed))")

        // The same log rebuilt, and as of earlier heads, writes the same bytes.
        let incremental = try projections.flatDump(UsageRollupsProjector.name)
        try projections.rebuildAll(batchSize: 37)
        #expect(try projections.flatDump(UsageRollupsProjector.name) == incremental, "rebuild differs (seed \(seed))")
        // Folded on a rebuild's helper thread, its journal entries held and written after; the
        // helper's cache unbounded, or so small that the batch's thread folds the rest.
        for limit in [256 << 20, 1] {
            try projections.rebuild(
                projections.names, batchSize: 37,
                lanes: .init(helper: [UsageRollupsProjector.name], helperHeldBytesLimit: limit))
            #expect(
                try projections.flatDump(UsageRollupsProjector.name) == incremental,
                "rebuild in the helper's lane differs (limit \(limit), seed \(seed))")
        }
        for (sequence, dump, cells) in snapshots {
            let snapshot = try ProjectionSnapshot(
                of: log, asOf: sequence, projectors: [UsageRollupsProjector(journalBlock: Self.block)], batchSize: 23)
            #expect(
                try snapshot.projections.flatDump(UsageRollupsProjector.name) == dump,
                "as of \(sequence) differs (seed \(seed))")
            // Its member queries read the journal's events from the records the snapshot keeps.
            #expect(
                try Self.memberCells(of: organizations, in: snapshot.projections) == cells,
                "member cells as of \(sequence) (seed \(seed))")
        }
    }

    @Test func concurrentAppendersInGroupCommits() async throws {
        let seed = TestEnvironment.seed()
        print("MemberJournalTests (concurrent): TALLY_TEST_SEED=\(seed)")
        let directory = TemporaryDirectory()
        let (log, projections) = try Self.open(directory.path)
        // 16 tasks, each appending its own usage one event at a time, so that group commits
        // gather several requests into one transaction and cross blocks mid-transaction.
        let tasks = 16
        let perTask = TestEnvironment.iterations(default: 120) / 2
        try await withThrowingTaskGroup(of: Void.self) { group in
            for task in 0..<tasks {
                group.addTask {
                    var random = SeededGenerator(seed: seed &+ UInt64(task))
                    for _ in 0..<perTask {
                        var usage = Tally_V1_UsageRecorded()
                        usage.metric = "api_calls"
                        usage.userID = "usr_\(Int.random(in: 0..<3, using: &random))"
                        usage.resourceID =
                            Bool.random(using: &random) ? "dash_\(Int.random(in: 0..<3, using: &random))" : ""
                        usage.quantity = Int64.random(in: 1...100, using: &random)
                        _ = try await log.append(
                            EventDraft(
                                organizationID: "org_\(task % 3)", eventType: BillingEventType.usageRecorded.rawValue,
                                occurredAt: Self.start.addingTimeInterval(
                                    Double(Int.random(in: 0..<(2 * 86_400), using: &random))),
                                payload: try usage.deterministicData()))
                    }
                }
            }
            try await group.waitForAll()
        }
        // The model, folded from the log in sequence order.
        var model = Model()
        for event in try log.events(from: 1, limit: tasks * perTask) {
            let usage = try Tally_V1_UsageRecorded(serializedBytes: event.payload)
            model.fold(
                event.organizationID, usage.metric, day: UTCDay.number(of: event.occurredAt), user: usage.userID,
                resource: usage.resourceID,
                .record(usage.quantity, at: Int64(event.occurredAt.timeIntervalSince1970) * 1_000_000_000))
        }
        let head = try #require(try log.head()).sequence
        #expect(head == UInt64(tasks * perTask))
        let journal = try projections.dump(UsageRollupsProjector.name)["member_journal"] ?? []
        #expect(
            journal.allSatisfy {
                UInt64(bigEndian: $0.0.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }) >= head / Self.block
                    * Self.block
            })
        for organization in ["org_0", "org_1", "org_2"] {
            try Self.expectCells(of: organization, equal: model, in: projections, "concurrent appends, seed \(seed)")
        }
        let incremental = try projections.flatDump(UsageRollupsProjector.name)
        try projections.rebuildAll()
        #expect(try projections.flatDump(UsageRollupsProjector.name) == incremental, "rebuild differs (seed \(seed))")
    }

    @Test func aDifferentBlockIsAnotherVersionAndIsRebuiltOnOpen() async throws {
        let directory = TemporaryDirectory()
        do {
            let (log, _) = try Self.open(directory.path)
            var usage = Tally_V1_UsageRecorded()
            (usage.metric, usage.quantity, usage.userID) = ("api_calls", 5, "usr_1")
            for _ in 0..<40 {
                _ = try log.appendSynchronously(
                    EventDraft(
                        organizationID: "org_a", eventType: BillingEventType.usageRecorded.rawValue,
                        occurredAt: Self.start, payload: try usage.deterministicData()))
            }
        }
        #expect(UsageRollupsProjector(journalBlock: Self.block).version != UsageRollupsProjector().version)
        let (_, projections) = try Self.open(directory.path, block: UsageRollupsProjector.defaultJournalBlock)
        #expect(try projections.checkpoint(of: UsageRollupsProjector.name).version == UsageRollupsProjector().version)
        // 40 events in the first block of 8,192: all journaled, and still counted by queries.
        #expect(try projections.dump(UsageRollupsProjector.name)["member_journal"]?.count == 40)
        let rows = try projections.read(UsageRollupsProjector.name) {
            try UsageRollupsProjector.rows("org_a", metric: nil, fromDay: .min, toDay: .max, by: .user, in: $0)
        }
        #expect(rows.map(\.key) == ["usr_1"])
        #expect(rows.first?.rollup.sum == 200 && rows.first?.rollup.events == 40)
    }

    /// A journal entry the merge cannot read: one holding bytes (entries are sequences only),
    /// or one naming an event that is not usage (event 2, an organization update).
    @Test(arguments: [
        (value: [UInt8]([0x07, 0x01]), secondIsUsage: true, says: "holds 2 bytes"), ([], false, "no usage event"),
    ])
    func aJournalEntryTheMergeCannotReadFailsItNamingIt(value: [UInt8], secondIsUsage: Bool, says: String) async throws
    {
        let directory = TemporaryDirectory()
        let (log, projections) = try Self.open(directory.path)
        var usage = Tally_V1_UsageRecorded()
        (usage.metric, usage.quantity, usage.userID) = ("api_calls", 5, "usr_1")
        let draft = EventDraft(
            organizationID: "org_a", eventType: BillingEventType.usageRecorded.rawValue, occurredAt: Self.start,
            payload: try usage.deterministicData())
        let update = EventDraft(
            organizationID: "org_a", eventType: BillingEventType.organizationUpdated.rawValue, occurredAt: Self.start,
            payload: Data([0x0A, 0x01, 0x41]))
        _ = try log.appendSynchronously(contentsOf: [draft, secondIsUsage ? draft : update, draft])
        // the live slot's
        let journal = try projections.read(UsageRollupsProjector.name) { $0.database("member_journal") }
        try projections.environment.write { txn in
            try txn.put(value, forKey: withUnsafeBytes(of: UInt64(2).bigEndian) { Array($0) }, in: journal)
        }
        // Crossing into the next block merges the journal, meets the bad entry, and appends nothing.
        let filler = (0..<Int(Self.block)).map { _ in update }
        #expect {
            try log.appendSynchronously(contentsOf: filler)
        } throws: { error in
            "\(error)".contains("usage_rollups.member_journal") && "\(error)".contains("entry 2")
                && "\(error)".contains(says)
        }
        #expect(try log.head()?.sequence == 3)
    }

    // MARK: Helpers

    static func open(_ directory: String, block: UInt64 = block) throws -> (EventLog, ProjectionSet) {
        var environmentOptions = EnvironmentOptions()
        environmentOptions.mapSize = 1 << 26
        let environment = try Environment.open(at: directory, options: environmentOptions)
        let projections = try ProjectionSet(
            environment: environment, projectors: [UsageRollupsProjector(journalBlock: block)])
        var options = EventLogOptions(registry: BillingEventType.registry, environment: environmentOptions)
        options.observer = projections
        let log = try EventLog(directory: directory, options: options)
        try projections.synchronize()
        return (log, projections)
    }

    /// Every user and resource cell the queries return for `organizations`, journal included.
    static func memberCells(of organizations: [String], in projections: ProjectionSet) throws -> [UsageRollupsProjector
        .Cell]
    {
        try projections.read(UsageRollupsProjector.name) { reader in
            try organizations.flatMap { organization in
                try [UsageRollupsProjector.Breakdown.user, .resource].flatMap {
                    try UsageRollupsProjector.cells(organization, fromDay: .min, toDay: .max, by: $0, in: reader)
                }
            }
        }
    }

    /// The user and resource cells the queries return for `organization` equal the model's.
    static func expectCells(
        of organization: String, equal model: Model, in projections: ProjectionSet, _ context: String
    ) throws {
        for (breakdown, expected) in [
            (UsageRollupsProjector.Breakdown.user, model.users), (.resource, model.resources),
        ] {
            let cells = try projections.read(UsageRollupsProjector.name) {
                try UsageRollupsProjector.cells(organization, fromDay: .min, toDay: .max, by: breakdown, in: $0)
            }
            let found = Dictionary(
                uniqueKeysWithValues: cells.map {
                    (Place(organization: organization, metric: $0.metric, day: $0.day, member: $0.member), $0.rollup)
                })
            #expect(
                found == expected.filter { $0.key.organization == organization },
                "\(breakdown) cells of \(organization), \(context)")
            let order = cells.map {
                [
                    Array($0.metric.utf8),
                    withUnsafeBytes(of: (UInt32(bitPattern: $0.day) ^ 0x8000_0000).bigEndian) { Array($0) },
                    Array($0.member.utf8),
                ]
            }
            #expect(
                order == order.sorted { $0.lexicographicallyPrecedes($1) { $0.lexicographicallyPrecedes($1) } },
                "\(breakdown) cells in key order, \(context)")
        }
    }
}
