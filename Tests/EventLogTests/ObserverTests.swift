import Dispatch
import EventLog
import Foundation
import LMDB
import Synchronization
import Testing

/// A tiny projection: events per organization, kept in its own database of the log's
/// environment, updated inside each append's transaction. It also records what it saw.
final class CountingObserver: AppendObserver {
    struct Boom: Error, Equatable {}

    let counts: Database
    let seen = Mutex<[StoredEvent]>([])

    init(environment: Environment) throws {
        counts = try environment.database(named: "test_counts")
    }

    func apply(_ event: StoredEvent, in txn: WriteTransaction) throws {
        if event.payload == Data("boom".utf8) { throw Boom() }
        let key = Array(event.organizationID.utf8)
        let current = try Self.count(key: key, in: txn, counts)
        try txn.put(withUnsafeBytes(of: (current + 1).bigEndian) { Array($0) }, forKey: key, in: counts)
        seen.withLock { $0.append(event) }
    }

    static func count(key: [UInt8], in txn: Transaction, _ counts: Database) throws -> UInt64 {
        try txn.value(forKey: key, in: counts).map {
            $0.withUnsafeBytes { UInt64(bigEndian: $0.loadUnaligned(as: UInt64.self)) }
        } ?? 0
    }

    func count(of organization: String, in txn: Transaction) throws -> UInt64 {
        try Self.count(key: Array(organization.utf8), in: txn, counts)
    }

    /// Opens a log in `directory` with this observer watching it.
    static func openLog(_ directory: String, options: EventLogOptions = TestLogs.options()) throws -> (
        EventLog, CountingObserver
    ) {
        let environment = try Environment.open(at: directory, options: options.environment)
        let observer = try CountingObserver(environment: environment)
        var options = options
        options.observer = observer
        return (try EventLog(directory: directory, options: options), observer)
    }
}

@Suite("Code inside the append transaction: observers and deciding appends")
struct ObserverTests {
    @Test("the observer sees every event as a scan reads it back, and its writes commit with them")
    func observerSeesEverything() async throws {
        let directory = TemporaryDirectory()
        let (log, observer) = try CountingObserver.openLog(directory.path)
        _ = try log.appendSynchronously(
            contentsOf: (0..<50).map { TestLogs.usage(organization: "org_\($0 % 3)", key: "s\($0)") })
        try await withThrowingTaskGroup(of: Void.self) { group in
            for task in 0..<40 {
                group.addTask {
                    for index in 0..<10 {
                        _ = try await log.append(
                            TestLogs.usage(organization: "org_\(task % 4)", key: "a\(task)-\(index)"))
                        _ = try await log.append(
                            // a retry: not seen
                            TestLogs.usage(organization: "org_\(task % 4)", key: "a\(task)-\(index)"))
                    }
                }
            }
            try await group.waitForAll()
        }
        let stored = try log.events(from: 1, limit: .max)
        #expect(stored.count == 450)
        #expect(observer.seen.withLock { $0 } == stored, "the observer saw exactly the stored events, in order")
        let organizations = Set(stored.map(\.organizationID))
        let counted = try log.environment.read { txn in
            try Dictionary(uniqueKeysWithValues: organizations.map { ($0, try observer.count(of: $0, in: txn)) })
        }
        for organization in organizations {
            #expect(counted[organization] == UInt64(stored.filter { $0.organizationID == organization }.count))
        }
    }

    @Test("an observer that throws aborts the whole commit: no event of it, no observer write")
    func observerFailureAborts() throws {
        let directory = TemporaryDirectory()
        let (log, observer) = try CountingObserver.openLog(directory.path)
        _ = try log.appendSynchronously(TestLogs.usage(key: "before"))
        var bad = TestLogs.usage(key: "bad")
        bad.payload = Data("boom".utf8)
        #expect(throws: CountingObserver.Boom.self) {
            try log.appendSynchronously(contentsOf: [TestLogs.usage(key: "ok"), bad])
        }
        #expect(try log.head()?.sequence == 1)
        #expect(try log.environment.read { try observer.count(of: "org_acme", in: $0) } == 1)
        #expect(try log.verify().isIntact)
    }

    struct QuotaExceeded: Error {}

    /// Runs 200 racing deciding appends of org_quota usage, each refused with `QuotaExceeded`
    /// once `count` (what the decision reads) reaches 100; how many appended. `whileQueued`
    /// runs once they are all started (to release a held writer, say).
    static func race(
        _ log: EventLog, whileQueued: () async -> Void = {},
        count: @escaping @Sendable (borrowing AppendDecision) throws -> UInt64
    ) async -> Int {
        await withTaskGroup(of: Bool.self) { group in
            for task in 0..<200 {
                group.addTask {
                    do {
                        _ = try await log.append { decision in
                            guard try count(decision) < 100 else { throw QuotaExceeded() }
                            return [TestLogs.usage(organization: "org_quota", key: "q\(task)")]
                        }
                        return true
                    } catch is QuotaExceeded {
                        return false
                    } catch {
                        Issue.record("unexpected \(error)")
                        return false
                    }
                }
            }
            await whileQueued()
            return await group.reduce(into: 0) { $0 += $1 ? 1 : 0 }
        }
    }

    @Test("deciding appends are strongly consistent: 200 racing tasks, a quota of 100, exactly 100 appended")
    func quotaRace() async throws {
        let directory = TemporaryDirectory()
        let (log, observer) = try CountingObserver.openLog(directory.path)
        let appended = await Self.race(log) { decision in try observer.count(of: "org_quota", in: decision.transaction)
        }
        #expect(appended == 100)
        #expect(try log.head()?.sequence == 100)
        #expect(try log.environment.read { try observer.count(of: "org_quota", in: $0) } == 100)
    }

    @Test(
        "a key a decision found unused is appended once, however many racing decisions found it unused in their own commits"
    )
    func keysFoundUnusedStayUnique() async throws {
        let directory = TemporaryDirectory()
        let (log, _) = try CountingObserver.openLog(directory.path)
        let gate = DispatchSemaphore(value: 0)
        log.environment.submitToWriter { gate.wait() }  // so that the requests share commits
        let receipts = await withTaskGroup(of: AppendReceipt?.self) { group in
            for _ in 0..<60 {
                group.addTask {
                    try? await log.append { decision in
                        // Each looks the key up (in its request's view) and appends it: the
                        // append must still see the requests before it in the same commit.
                        _ = try decision.sequence(ofIdempotencyKey: "shared", organizationID: "org_acme")
                        return [TestLogs.usage(key: "shared")]
                    }.first
                }
            }
            try? await Task.sleep(for: .milliseconds(100))
            gate.signal()
            return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(receipts.count == 60 && receipts.allSatisfy { $0 != nil })
        #expect(receipts.filter { $0?.isDuplicate == false }.count == 1)
        #expect(try log.head()?.sequence == 1)
    }

    @Test("a deciding request that throws or decides invalid events fails alone")
    func decisionFailuresAreIsolated() async throws {
        struct Refused: Error {}
        let directory = TemporaryDirectory()
        let (log, _) = try CountingObserver.openLog(directory.path)
        let outcomes = await withTaskGroup(of: (Int, String).self) { group in
            for index in 0..<60 {
                group.addTask {
                    do {
                        _ = try await log.append { _ in
                            switch index % 3 {
                            case 0: throw Refused()
                            case 1: return [TestLogs.usage(organization: "not valid!", key: "x\(index)")]
                            default: return [TestLogs.usage(key: "d\(index)")]
                            }
                        }
                        return (index, "ok")
                    } catch is Refused {
                        return (index, "refused")
                    } catch EventLogError.invalidEvent {
                        return (index, "invalid")
                    } catch {
                        return (index, "\(error)")
                    }
                }
            }
            return await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
        }
        for (index, outcome) in outcomes {
            #expect(outcome == ["refused", "invalid", "ok"][index % 3], "request \(index)")
        }
        #expect(try log.head()?.sequence == 20)
    }

    @Test("a decision sees the head, and the synchronous form works the same")
    func decisionHead() throws {
        let directory = TemporaryDirectory()
        let (log, _) = try CountingObserver.openLog(directory.path)
        let heads = Mutex<[UInt64?]>([])
        for index in 0..<3 {
            _ = try log.appendSynchronously { decision in
                heads.withLock { $0.append(decision.head?.sequence) }
                return [TestLogs.usage(key: "h\(index)")]
            }
        }
        #expect(heads.withLock { $0 } == [nil, 1, 2])
        #expect(try log.appendSynchronously { _ in [] }.isEmpty, "deciding nothing appends nothing")
    }
}
