import Billing
import BillingEvents
import EventLog
import Foundation
import ReadModels
import Tally
import TallyTestSupport
import Testing

@Suite("Engine: usage and quotas")
struct UsageTests {
    static let now = SubscribeCommandTests.now

    /// An engine whose org_us is on the Free plan (API calls: soft 8,000, hard 10,000; users: hard 3).
    static func freeEngine(_ directory: TemporaryDirectory) async throws -> Engine {
        let engine = try await SubscribeCommandTests.engine(directory)
        try await engine.subscribe("org_us", to: "free", interval: .monthly, at: now)
        return engine
    }

    static func calls(_ quantity: Int64, key: String? = nil, at date: Date = now.addingTimeInterval(60)) -> UsageRecord
    {
        UsageRecord(
            organizationID: "org_us", metric: "api_calls", quantity: quantity, userID: "u1", occurredAt: date,
            idempotencyKey: key)
    }

    func eventTypes(_ engine: Engine, after sequence: UInt64) throws -> [String] {
        try engine.log.events(from: sequence + 1, limit: 100).map(\.eventType)
    }

    @Test("usage exactly at the hard limit is accepted; one more is refused and appends nothing")
    func exactlyAtTheLimit() async throws {
        let directory = TemporaryDirectory()
        let engine = try await Self.freeEngine(directory)
        let start = try #require(try engine.log.head()).sequence
        try await engine.recordUsage(Self.calls(7_999))
        #expect(try eventTypes(engine, after: start) == ["usage.recorded"])
        #expect(try engine.quota(for: "org_us", metric: "api_calls", at: Self.now).state == .withinIncluded)

        try await engine.recordUsage(Self.calls(1))
        #expect(try eventTypes(engine, after: start).suffix(2) == ["usage.recorded", "quota.soft_limit_reached"])
        #expect(try engine.quota(for: "org_us", metric: "api_calls", at: Self.now).state == .softLimitReached)

        try await engine.recordUsage(Self.calls(2_000))
        #expect(try eventTypes(engine, after: start).suffix(2) == ["usage.recorded", "quota.hard_limit_reached"])
        let status = try engine.quota(for: "org_us", metric: "api_calls", at: Self.now)
        #expect(status.usage == 10_000 && status.state == .hardLimitReached && !status.allows(1))

        let head = try engine.log.head()?.sequence
        await #expect(throws: EngineError.quotaExceeded(metric: "api_calls", limit: 10_000, usage: 10_000)) {
            try await engine.recordUsage(Self.calls(1))
        }
        #expect(try engine.log.head()?.sequence == head)
    }

    @Test("a retried usage event is recognized before the limit check and counted once")
    func retries() async throws {
        let directory = TemporaryDirectory()
        let engine = try await Self.freeEngine(directory)
        let first = try await engine.recordUsage(Self.calls(10_000, key: "req-1"))
        let retry = try await engine.recordUsage(Self.calls(10_000, key: "req-1"))
        #expect(retry == AppendReceipt(sequence: first.sequence, isDuplicate: true))
        #expect(try engine.quota(for: "org_us", metric: "api_calls", at: Self.now).usage == 10_000)
        await #expect(throws: EngineError.self) { try await engine.recordUsage(Self.calls(5, key: "req-1")) }
    }

    @Test("usage before the subscription started, of an unmetered metric, or negative, is refused by field")
    func refusals() async throws {
        let directory = TemporaryDirectory()
        let engine = try await Self.freeEngine(directory)
        for (usage, field) in [
            (Self.calls(1, at: Self.now.addingTimeInterval(-1)), "occurred_at"),
            (
                UsageRecord(organizationID: "org_us", metric: "compute_seconds", quantity: 1, occurredAt: Self.now),
                "metric"
            ),
            (Self.calls(-5), "quantity"),
        ] {
            do {
                try await engine.recordUsage(usage)
                Issue.record("accepted bad \(field)")
            } catch let error as EngineError {
                guard case .invalid(let named, _) = error else {
                    Issue.record("\(error)")
                    continue
                }
                #expect(named == field)
            }
        }
        await #expect(throws: EngineError.notFound("subscription of org_none")) {
            try await engine.recordUsage(
                UsageRecord(organizationID: "org_none", metric: "api_calls", quantity: 1, occurredAt: Self.now))
        }
    }

    @Test("a unique count counts distinct users, and its hard limit refuses a new one but not a known one")
    func uniqueUsers() async throws {
        let directory = TemporaryDirectory()
        let engine = try await Self.freeEngine(directory)
        for user in ["u1", "u2", "u1", "u3"] {
            try await engine.recordUsage(
                UsageRecord(
                    organizationID: "org_us", metric: "active_users", quantity: 1, userID: user, occurredAt: Self.now))
        }
        #expect(try engine.quota(for: "org_us", metric: "active_users", at: Self.now).usage == 3)
        await #expect(throws: EngineError.quotaExceeded(metric: "active_users", limit: 3, usage: 3)) {
            try await engine.recordUsage(
                UsageRecord(
                    organizationID: "org_us", metric: "active_users", quantity: 1, userID: "u4", occurredAt: Self.now))
        }
        try await engine.recordUsage(
            UsageRecord(
                organizationID: "org_us", metric: "active_users", quantity: 1, userID: "u2", occurredAt: Self.now))
    }

    @Test("quota checks are strongly consistent: 100 racing tasks of 200 calls against 10,000 → exactly 50 accepted")
    func race() async throws {
        let directory = TemporaryDirectory()
        let engine = try await Self.freeEngine(directory)
        let accepted = await withTaskGroup(of: Bool.self) { group in
            for task in 0..<100 {
                group.addTask { (try? await engine.recordUsage(Self.calls(200, key: "race-\(task)"))) != nil }
            }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(accepted == 50)
        #expect(try engine.quota(for: "org_us", metric: "api_calls", at: Self.now).usage == 10_000)
    }

    @Test("trial usage counts in the trial period; the quotas read model survives a rebuild byte for byte")
    func trialAndRebuild() async throws {
        let directory = TemporaryDirectory()
        let engine = try await SubscribeCommandTests.engine(directory)
        try await engine.subscribe("org_us", to: "professional", interval: .monthly, at: Self.now)
        try await engine.recordUsage(Self.calls(1_500))
        let status = try engine.quota(for: "org_us", metric: "api_calls", at: Self.now.addingTimeInterval(3600))
        #expect(status.periodStart == Self.now && status.usage == 1_500 && status.included == 1_000_000)
        let before = try engine.projections.flatDump(QuotasProjector.name)
        try engine.projections.rebuild(QuotasProjector.name)
        #expect(try engine.projections.flatDump(QuotasProjector.name) == before)
    }

    @Test("a batch is checked record by record as if each were alone: limits, unique counts, retries and refusals")
    func batch() async throws {
        let directory = TemporaryDirectory()
        let engine = try await Self.freeEngine(directory)
        let earlier = try await engine.recordUsage(Self.calls(100, key: "old"))
        let user = { (id: String) in
            UsageRecord(organizationID: "org_us", metric: "active_users", quantity: 1, userID: id, occurredAt: Self.now)
        }
        let results = try await engine.recordUsage([
            Self.calls(7_900, key: "a"),  // reaches the soft limit (8,000)
            Self.calls(100, key: "old"),  // a retry of an event already in the log
            Self.calls(7_900, key: "a"),  // a retry within the batch
            Self.calls(5, key: "a"),  // the same key for other usage
            Self.calls(-1),  // invalid
            Self.calls(2_001),  // would pass the hard limit (10,000)
            Self.calls(2_000),  // exactly reaches it
            user("u1"), user("u2"), user("u1"), user("u3"), user("u4"),  // hard limit 3 distinct users
        ])
        func failure(_ index: Int) -> EngineError? {
            if case .failure(let error) = results[index] { return error }
            return nil
        }
        let first = try results[0].get()
        #expect(try results[1].get() == AppendReceipt(sequence: earlier.sequence, isDuplicate: true))
        #expect(try results[2].get() == AppendReceipt(sequence: first.sequence, isDuplicate: true))
        #expect(failure(3).map { if case .conflict = $0 { true } else { false } } == true)
        #expect(failure(4).map { if case .invalid(field: "quantity", _) = $0 { true } else { false } } == true)
        #expect(failure(5) == .quotaExceeded(metric: "api_calls", limit: 10_000, usage: 8_000))
        #expect(failure(6) == nil)
        #expect(results[7...10].allSatisfy { (try? $0.get()) != nil })
        #expect(failure(11) == .quotaExceeded(metric: "active_users", limit: 3, usage: 3))
        #expect(try engine.quota(for: "org_us", metric: "api_calls", at: Self.now).usage == 10_000)
        #expect(try engine.quota(for: "org_us", metric: "active_users", at: Self.now).usage == 3)
        let types = try eventTypes(engine, after: earlier.sequence)
        #expect(
            types.filter { $0 == "quota.soft_limit_reached" }.count == 1
                && types.filter { $0 == "quota.hard_limit_reached" }.count == 2)
        let before = try engine.projections.flatDump(QuotasProjector.name)
        try engine.projections.rebuild(QuotasProjector.name)
        #expect(try engine.projections.flatDump(QuotasProjector.name) == before)
    }

    @Test(
        "a record the log would refuse (too far ahead of its clock, a key too long) is refused alone; the rest of its batch appends"
    )
    func logRulesRefuseOneRecord() async throws {
        let directory = TemporaryDirectory()
        let engine = try await Self.freeEngine(directory)
        let head = try #require(try engine.log.head()).sequence
        let results = try await engine.recordUsage([
            Self.calls(1, key: "fine-1"),
            Self.calls(1, at: Date().addingTimeInterval(3 * 86_400)),
            Self.calls(1, key: String(repeating: "k", count: 600)),
            Self.calls(1, key: String(repeating: "k", count: 300)),
            Self.calls(1, key: "fine-2"),
        ])
        #expect((try? results[0].get()) != nil && (try? results[4].get()) != nil)
        for (index, field) in [(1, "occurred_at"), (2, "idempotency_key"), (3, "idempotency_key")] {
            guard case .failure(.invalid(let named, let rule)) = results[index] else {
                Issue.record("record \(index): \(results[index])")
                continue
            }
            #expect(named == field && !rule.isEmpty, "record \(index): \(rule)")
        }
        #expect(try engine.log.head()?.sequence == head + 2)
    }
}
