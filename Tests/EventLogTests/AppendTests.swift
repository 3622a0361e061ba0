import EventLog
import Foundation
import LMDB
import Testing

@Suite("Appending")
struct AppendTests {
    @Test("a single event gets sequence 1, links to the zero hash and reads back intact")
    func firstEvent() throws {
        let directory = TemporaryDirectory()
        let log = try TestLogs.open(directory.path)
        let draft = TestLogs.usage(key: "k1", quantity: 5)
        let receipt = try log.appendSynchronously(draft)
        #expect(receipt == AppendReceipt(sequence: 1, isDuplicate: false))

        let event = try #require(try log.event(at: 1))
        #expect(event.sequence == 1)
        #expect(event.previousHash == .zero)
        #expect(event.organizationID == draft.organizationID)
        #expect(event.eventType == "test.usage")
        #expect(event.payload == draft.payload)
        #expect(event.idempotencyKey == "k1")
        #expect(event.envelope.actor == "api-key:live_42")
        #expect(event.occurredAt == draft.occurredAt)
        #expect(try log.head() == Checkpoint(sequence: 1, hash: event.hash))
        #expect(try log.event(at: 2) == nil)
    }

    @Test("events chain: each carries the hash of the one before")
    func chain() throws {
        let directory = TemporaryDirectory()
        let log = try TestLogs.open(directory.path)
        for index in 0..<10 { _ = try log.appendSynchronously(TestLogs.usage(quantity: index)) }
        let events = try log.events(from: 1, limit: 100)
        #expect(events.map(\.sequence) == Array(1...10))
        for (earlier, later) in zip(events, events.dropFirst()) {
            #expect(later.previousHash == earlier.hash)
        }
        #expect(try log.verify().isIntact)
    }

    @Test("a batch is appended atomically, in order")
    func batch() throws {
        let directory = TemporaryDirectory()
        let log = try TestLogs.open(directory.path)
        let receipts = try log.appendSynchronously(
            contentsOf: (0..<5).map { TestLogs.usage(key: "b\($0)", quantity: $0) })
        #expect(receipts.map(\.sequence) == [1, 2, 3, 4, 5])
        #expect(receipts.allSatisfy { !$0.isDuplicate })
    }

    @Test("a batch with one conflicting key appends nothing")
    func batchAllOrNothing() throws {
        let directory = TemporaryDirectory()
        let log = try TestLogs.open(directory.path)
        _ = try log.appendSynchronously(TestLogs.usage(key: "taken", quantity: 1))
        let batch = [
            TestLogs.usage(key: "new-1"), TestLogs.usage(key: "taken", quantity: 2), TestLogs.usage(key: "new-2"),
        ]
        #expect(
            throws: EventLogError.idempotencyConflict(
                organizationID: "org_acme", idempotencyKey: "taken", originalSequence: 1)
        ) {
            try log.appendSynchronously(contentsOf: batch)
        }
        #expect(try log.head()?.sequence == 1)
        #expect(try log.events(forOrganization: "org_acme").count == 1)
        // The keys of the failed batch were not consumed.
        #expect(try log.appendSynchronously(TestLogs.usage(key: "new-1")).isDuplicate == false)
    }

    @Test("a retried event is deduplicated forever and returns the original sequence")
    func duplicates() throws {
        let directory = TemporaryDirectory()
        do {
            let log = try TestLogs.open(directory.path)
            _ = try log.appendSynchronously(TestLogs.usage(key: "a"))
            _ = try log.appendSynchronously(TestLogs.usage(key: "b"))
            #expect(
                try log.appendSynchronously(TestLogs.usage(key: "a")) == AppendReceipt(sequence: 1, isDuplicate: true))
        }
        // After reopening, and thousands of events later, the key is still remembered.
        let log = try TestLogs.open(directory.path)
        _ = try log.appendSynchronously(contentsOf: (0..<2000).map { TestLogs.usage(key: "filler-\($0)") })
        #expect(try log.appendSynchronously(TestLogs.usage(key: "a")) == AppendReceipt(sequence: 1, isDuplicate: true))
        #expect(try log.head()?.sequence == 2002)
    }

    @Test("the same key within one batch is appended once")
    func duplicateInsideBatch() throws {
        let directory = TemporaryDirectory()
        let log = try TestLogs.open(directory.path)
        let receipts = try log.appendSynchronously(contentsOf: [
            TestLogs.usage(key: "x"), TestLogs.usage(key: "y"), TestLogs.usage(key: "x"),
        ])
        #expect(
            receipts == [
                .init(sequence: 1, isDuplicate: false), .init(sequence: 2, isDuplicate: false),
                .init(sequence: 1, isDuplicate: true),
            ])
        #expect(try log.head()?.sequence == 2)
    }

    @Test("keys are per organization: the same key in two organizations is two events")
    func keysPerOrganization() throws {
        let directory = TemporaryDirectory()
        let log = try TestLogs.open(directory.path)
        #expect(try log.appendSynchronously(TestLogs.usage(organization: "org_a", key: "k")).sequence == 1)
        #expect(try log.appendSynchronously(TestLogs.usage(organization: "org_b", key: "k")).sequence == 2)
    }

    @Test("the same key with another payload is a conflict naming the key and the original sequence")
    func conflict() throws {
        let directory = TemporaryDirectory()
        let log = try TestLogs.open(directory.path)
        _ = try log.appendSynchronously(TestLogs.usage(key: "k", quantity: 1))
        let error = #expect(throws: EventLogError.self) {
            try log.appendSynchronously(TestLogs.usage(key: "k", quantity: 2))
        }
        #expect(error == .idempotencyConflict(organizationID: "org_acme", idempotencyKey: "k", originalSequence: 1))
        #expect(error?.description.contains("\"k\"") == true)
        #expect(error?.description.contains("event 1") == true)
        #expect(try log.head()?.sequence == 1)
    }

    @Test("async appends from 200 tasks: no gap, no duplicate, every retry deduplicated")
    func concurrentTasks() async throws {
        let directory = TemporaryDirectory()
        let log = try TestLogs.open(directory.path)
        let receipts = try await withThrowingTaskGroup(of: [(String, AppendReceipt)].self) { group in
            for task in 0..<200 {
                group.addTask {
                    var out: [(String, AppendReceipt)] = []
                    for index in 0..<20 {
                        let key = "t\(task)-\(index)"
                        out.append(
                            (key, try await log.append(TestLogs.usage(organization: "org_\(task % 5)", key: key))))
                        if index % 4 == 0 {
                            out.append(
                                (key, try await log.append(TestLogs.usage(organization: "org_\(task % 5)", key: key))))
                        }
                    }
                    return out
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        let firsts = receipts.filter { !$0.1.isDuplicate }
        let retries = receipts.filter { $0.1.isDuplicate }
        #expect(firsts.count == 4000)
        #expect(retries.count == 1000)
        #expect(Set(firsts.map(\.1.sequence)) == Set(1...4000))
        let sequenceOfKey = Dictionary(uniqueKeysWithValues: firsts.map { ($0.0, $0.1.sequence) })
        #expect(retries.allSatisfy { sequenceOfKey[$0.0] == $0.1.sequence })
        let report = try log.verify()
        #expect(report.isIntact)
        #expect(report.head?.sequence == 4000)
    }

    @Test("in one group commit, a conflicting request fails alone")
    func conflictDoesNotPoisonGroup() async throws {
        let directory = TemporaryDirectory()
        let log = try TestLogs.open(directory.path)
        _ = try await log.append(TestLogs.usage(key: "taken", quantity: 1))
        // Many concurrent requests, every tenth a conflict, so conflicts share commits with good ones.
        let outcomes = await withTaskGroup(of: (Int, Bool).self) { group in
            for index in 0..<300 {
                group.addTask {
                    let draft =
                        index % 10 == 0
                        ? TestLogs.usage(key: "taken", quantity: 2) : TestLogs.usage(key: "good-\(index)")
                    do {
                        _ = try await log.append(contentsOf: [draft, TestLogs.usage(key: "second-\(index)")])
                        return (index, true)
                    } catch {
                        return (index, false)
                    }
                }
            }
            return await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
        }
        for (index, succeeded) in outcomes {
            #expect(succeeded == (index % 10 != 0), "request \(index)")
        }
        #expect(try log.head()?.sequence == 1 + 270 * 2)
        #expect(try log.verify().isIntact)
        // Every event of a commit has the commit's one clock reading: more than one request's
        // two events under one reading means the requests did share commits.
        var perCommit: [Date: Int] = [:]
        for event in try log.events(from: 2, limit: 540) { perCommit[event.recordedAt, default: 0] += 1 }
        #expect(perCommit.values.contains { $0 > 2 }, "the requests shared commits")
    }

    @Test("when a group's commit fails, every waiter gets the error and nothing is appended")
    func commitFailureFailsWholeGroup() async throws {
        let directory = TemporaryDirectory()
        // A map that cannot grow: the first big group commit fails with MDB_MAP_FULL.
        let log = try TestLogs.open(directory.path, options: TestLogs.options(mapSize: 1 << 18, maxMapSize: 1 << 18))
        _ = try await log.append(TestLogs.usage(key: "before"))
        let bigPayload = Data(repeating: 7, count: 8_000)
        let failures = await withTaskGroup(of: Bool.self) { group in
            for index in 0..<64 {
                group.addTask {
                    var draft = TestLogs.usage(key: "big-\(index)")
                    draft.payload = bigPayload
                    do {
                        _ = try await log.append(draft)
                        return false
                    } catch { return (error as? LMDBError)?.code == .mapFull }
                }
            }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(failures > 0)
        let head = try #require(try log.head())
        // Whatever did commit before the map filled is whole and chained.
        #expect(UInt64(64 - failures) + 1 == head.sequence)
        #expect(try log.verify().isIntact)
    }

    @Test("the async scan yields every event in order, in batches")
    func scan() async throws {
        let directory = TemporaryDirectory()
        let log = try TestLogs.open(directory.path)
        _ = try log.appendSynchronously(contentsOf: (0..<1000).map { TestLogs.usage(quantity: $0) })
        var sequences: [UInt64] = []
        for try await event in log.scan(from: 11, batchSize: 64) {
            sequences.append(event.sequence)
        }
        #expect(sequences == Array(11...1000))
        var synchronous: [UInt64] = []
        try log.forEachEvent(from: 995, batchSize: 2) {
            synchronous.append($0.sequence)
            return true
        }
        #expect(synchronous == Array(995...1000))
        #expect(try log.events(in: 5...7).map(\.sequence) == [5, 6, 7])
    }

    @Test("an organization's events come from its index, in order, and only its own")
    func organizationIndex() throws {
        let directory = TemporaryDirectory()
        let log = try TestLogs.open(directory.path)
        for index in 0..<60 {
            // "org_a" is a prefix of "org_ab": the index must not mix them.
            _ = try log.appendSynchronously(
                TestLogs.usage(organization: ["org_a", "org_ab", "org_b"][index % 3], quantity: index))
        }
        let events = try log.events(forOrganization: "org_a")
        #expect(events.map(\.sequence) == Array(stride(from: 1, through: 58, by: 3)))
        #expect(events.allSatisfy { $0.organizationID == "org_a" })
        #expect(try log.events(forOrganization: "org_a", after: 10, limit: 2).map(\.sequence) == [13, 16])
        #expect(try log.events(forOrganization: "org_zzz").isEmpty)
    }

    @Test("the organization index answers across its 4,096-event segments, from any starting point")
    func organizationIndexAcrossSegments() throws {
        let directory = TemporaryDirectory()
        let log = try TestLogs.open(directory.path)
        // 10,000 events: three segments. "org_rare" appears only in the first and the last.
        let drafts = (1...10_000).map { number in
            TestLogs.usage(
                organization: number == 5 || number == 9_999 ? "org_rare" : (number % 2 == 0 ? "org_even" : "org_odd"),
                quantity: number)
        }
        _ = try log.appendSynchronously(contentsOf: drafts)
        #expect(try log.events(forOrganization: "org_rare").map(\.sequence) == [5, 9_999])
        #expect(try log.events(forOrganization: "org_rare", after: 5).map(\.sequence) == [9_999])
        #expect(try log.events(forOrganization: "org_rare", after: 9_999).isEmpty)
        let even = try log.events(forOrganization: "org_even", after: 4_090, limit: 5).map(\.sequence)
        #expect(even == [4_092, 4_094, 4_096, 4_098, 4_100])
        #expect(try log.events(forOrganization: "org_even").count == 5_000)
        #expect(try log.events(forOrganization: "org_odd").count == 4_998)
    }
}
