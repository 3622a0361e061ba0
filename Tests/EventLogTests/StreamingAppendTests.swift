import Dispatch
import Foundation
import LMDB
import Synchronization
import TallySupport
import Testing

@testable import EventLog

/// Streamed appends (`EventLog.append(streaming:)`): a second core decides the events while
/// the writer appends the first ones. Whatever happens on the way, the request is all or
/// nothing, and what it appends is what one append of the same events would.
@Suite("Streamed appends: decided on a second core while appended")
struct StreamingAppendTests {
    static let now = Date(timeIntervalSince1970: 1_760_000_100)

    static func options(mapSize: Int = 1 << 24) -> EventLogOptions {
        var options = TestLogs.options(mapSize: mapSize)
        options.clock = { now }
        return options
    }

    /// `count` drafts over three organizations, keyed `prefix0`, `prefix1`, ...
    static func drafts(_ count: Int, prefix: String) -> [EventDraft] {
        (0..<count).map { TestLogs.usage(organization: "org_\($0 % 3)", key: "\(prefix)\($0)", quantity: $0) }
    }

    struct Refused: Error, Equatable {}

    /// Waits until `count` requests queue for the next group commit (the writer is held).
    static func waitUntilQueued(_ log: EventLog, _ count: Int) async throws {
        while log.pendingAppends.withLock({ $0.requests.count }) < count { try await Task.sleep(for: .milliseconds(2)) }
    }

    final class Flag: Sendable {
        let isSet = Atomic<Bool>(false)
    }

    /// Holds the writer in a commit of its own until `gate` is signaled; `held` is set once it is.
    static func holdWriter(_ log: EventLog, _ gate: DispatchSemaphore, _ held: Flag, organization: String) async throws
        -> [AppendReceipt]
    {
        try await log.append { _ in
            held.isSet.store(true, ordering: .sequentiallyConsistent)
            gate.wait()
            return [TestLogs.usage(organization: organization, key: "blocker")]
        }
    }

    static func waitUntilHeld(_ held: Flag) async throws {
        while !held.isSet.load(ordering: .sequentiallyConsistent) { try await Task.sleep(for: .milliseconds(2)) }
    }

    @Test(
        "streamed events are appended in emission order, byte for byte what one append of them writes; a retry is all duplicates"
    )
    func sameAsOneAppend() throws {
        let (streamedDirectory, plainDirectory) = (TemporaryDirectory(), TemporaryDirectory())
        let (streamed, observer) = try CountingObserver.openLog(streamedDirectory.path, options: Self.options())
        let plain = try TestLogs.open(plainDirectory.path, options: Self.options())
        let drafts = Self.drafts(500, prefix: "s")
        let threads = Mutex<Set<pthread_t>>([])
        let receipts = try streamed.appendSynchronously(streaming: { _, sink in
            for draft in drafts {
                threads.withLock { _ = $0.insert(pthread_self()) }
                try sink.emit(draft)
            }
        })
        #expect(receipts.map(\.sequence) == Array(1...500) && receipts.allSatisfy { !$0.isDuplicate })
        _ = try plain.appendSynchronously(contentsOf: drafts)
        #expect(try streamed.head() == plain.head(), "the same chain, hash for hash")
        #expect(
            try streamed.environment.read { txn in try (0..<3).map { try observer.count(of: "org_\($0)", in: txn) } }
                == [167, 167, 166])
        if HelperThreads.haveSecondCore {
            #expect(streamed.requestsStreamed == 1)
            #expect(!threads.withLock { $0.contains(pthread_self()) }, "decided on another thread")
        }
        let again = try streamed.appendSynchronously(streaming: { _, sink in
            for draft in drafts { try sink.emit(draft) }
        })
        #expect(again.map(\.sequence) == Array(1...500) && again.allSatisfy(\.isDuplicate))
        #expect(try streamed.head()?.sequence == 500)
    }

    @Test(
        "a decision that fails after its first chunks were appended leaves nothing; its group commit's other requests commit without it"
    )
    func failureAfterAppending() async throws {
        let directory = TemporaryDirectory()
        let (log, observer) = try CountingObserver.openLog(directory.path, options: Self.options())
        let gate = DispatchSemaphore(value: 0)
        let emitted = Atomic<Int>(0)
        // The writer is held in a first commit while the next three requests queue up behind it.
        let held = Flag()
        async let blocker = Self.holdWriter(log, gate, held, organization: "org_0")
        try await Self.waitUntilHeld(held)
        async let failing: [AppendReceipt] = log.append(streaming: { _, sink in
            for draft in Self.drafts(400, prefix: "f") {
                try sink.emit(draft)
                emitted.add(1, ordering: .relaxed)
            }
            // Give the writer time to append the chunks handed over.
            Thread.sleep(forTimeInterval: 0.05)
            throw Refused()
        })
        try await Self.waitUntilQueued(log, 1)
        async let first = log.append(contentsOf: Self.drafts(10, prefix: "n"))
        try await Self.waitUntilQueued(log, 2)
        async let second = log.append(TestLogs.usage(organization: "org_1", key: "last"))
        try await Self.waitUntilQueued(log, 3)
        gate.signal()

        #expect(try await blocker.map(\.sequence) == [1])
        do {
            _ = try await failing
            Issue.record("the failing request appended")
        } catch {
            #expect(error is Refused)
        }
        #expect(try await first.map(\.sequence) == Array(2...11))
        #expect(try await second.sequence == 12)
        #expect(emitted.load(ordering: .relaxed) >= 400)
        let events = try log.events(from: 1, limit: 100)
        #expect(events.count == 12 && !events.contains { $0.idempotencyKey?.hasPrefix("f") == true })
        // The failing request's events were applied before it failed (the observer saw them),
        // and went with the aborted attempt, the observer's writes too.
        if HelperThreads.haveSecondCore {
            #expect(observer.seen.withLock { $0.contains { $0.idempotencyKey?.hasPrefix("f") == true } })
        }
        #expect(
            try log.environment.read { txn in try (0..<3).map { try observer.count(of: "org_\($0)", in: txn) } } == [
                5, 4, 3,
            ])
        #expect(try log.verify().isIntact)
    }

    @Test(
        "a key used again in a later chunk: the same event is a duplicate, another event fails the request and leaves nothing"
    )
    func keysAcrossChunks() throws {
        let directory = TemporaryDirectory()
        let log = try TestLogs.open(directory.path, options: Self.options())
        let drafts = Self.drafts(300, prefix: "k")
        let repeated = try log.appendSynchronously(streaming: { _, sink in
            for draft in drafts { try sink.emit(draft) }
            try sink.emit(drafts[5])
        })
        #expect(repeated.count == 301 && repeated[300] == AppendReceipt(sequence: 6, isDuplicate: true))
        #expect(try log.head()?.sequence == 300)

        let conflicting = Self.drafts(300, prefix: "c")
        var reused = conflicting[7]
        reused.payload = Data("another".utf8)
        let other = reused
        #expect {
            try log.appendSynchronously(streaming: { _, sink in
                for draft in conflicting { try sink.emit(draft) }
                try sink.emit(other)
            })
        } throws: { error in
            guard case EventLogError.idempotencyConflict(_, let key, _) = error else { return false }
            return key == "c7"
        }
        #expect(try log.head()?.sequence == 300, "nothing of the failed request")
        #expect(try log.verify().isIntact)
    }

    @Test("an invalid event in a later chunk fails the request, naming its place, and leaves nothing")
    func invalidLaterEvent() throws {
        let directory = TemporaryDirectory()
        let log = try TestLogs.open(directory.path, options: Self.options())
        var bad = TestLogs.usage(key: "bad")
        bad.organizationID = ""
        let invalid = bad
        #expect {
            try log.appendSynchronously(streaming: { _, sink in
                for draft in Self.drafts(200, prefix: "v") { try sink.emit(draft) }
                try sink.emit(invalid)
            })
        } throws: { error in
            guard case EventLogError.invalidEvent(let validation) = error else { return false }
            return validation.index == 200 && validation.field == "organization_id"
        }
        #expect(try log.head() == nil)
    }

    @Test("with every reader slot taken, the writer decides a streamed request itself")
    func noReaderSlot() throws {
        let directory = TemporaryDirectory()
        var options = Self.options()
        options.environment.maxReaders = 2
        let log = try EventLog(directory: directory.path, options: options)
        let receipts = try withReadersHeld(2, in: log.environment) {
            try log.appendSynchronously(streaming: { _, sink in
                for draft in Self.drafts(200, prefix: "r") { try sink.emit(draft) }
            })
        }
        #expect(receipts.map(\.sequence) == Array(1...200))
        #expect(log.requestsStreamed == 0)
        #expect(try log.verify().isIntact)
    }

    @Test("a map that fills in the middle of a stream grows, and the request is decided again from the start")
    func mapGrowthMidStream() throws {
        let directory = TemporaryDirectory()
        let log = try TestLogs.open(directory.path, options: Self.options(mapSize: 1 << 16))
        let runs = Atomic<Int>(0)
        let drafts = Self.drafts(20_000, prefix: "g")
        let receipts = try log.appendSynchronously(streaming: { _, sink in
            runs.add(1, ordering: .relaxed)
            for draft in drafts { try sink.emit(draft) }
        })
        #expect(receipts.map(\.sequence) == Array(1...20_000))
        #expect(log.environment.mapGrowths >= 1)
        #expect(runs.load(ordering: .relaxed) == 1 + log.environment.mapGrowths)
        let report = try log.verify()
        #expect(report.isIntact && report.eventsChecked == 20_000)
    }

    @Test("a streamed request after another in the same commit is decided on the writer, seeing what the first wrote")
    func secondInItsCommit() async throws {
        let directory = TemporaryDirectory()
        let (log, observer) = try CountingObserver.openLog(directory.path, options: Self.options())
        let gate = DispatchSemaphore(value: 0)
        let held = Flag()
        async let blocker = Self.holdWriter(log, gate, held, organization: "org_9")
        try await Self.waitUntilHeld(held)
        async let first = log.append(contentsOf: Self.drafts(30, prefix: "a"))
        try await Self.waitUntilQueued(log, 1)
        let seen = Mutex<UInt64>(0)
        async let streamed: [AppendReceipt] = log.append(streaming: { decision, sink in
            let count = try observer.count(of: "org_0", in: decision.transaction)
            seen.withLock { $0 = count }
            for draft in Self.drafts(100, prefix: "b") { try sink.emit(draft) }
        })
        try await Self.waitUntilQueued(log, 2)
        gate.signal()
        _ = try await blocker
        #expect(try await first.map(\.sequence) == Array(2...31))
        #expect(try await streamed.map(\.sequence) == Array(32...131))
        #expect(seen.withLock { $0 } == 10, "the decision saw the 10 events of org_0 appended before it in its commit")
        #expect(log.requestsStreamed == 0)
    }
}
