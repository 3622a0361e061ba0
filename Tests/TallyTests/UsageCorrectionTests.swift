import Billing
import EventLog
import Foundation
import ReadModels
import Tally
import TallyTestSupport
import Testing

@Suite("Engine: usage corrections and rollups")
struct UsageCorrectionTests {
    static let now = SubscribeCommandTests.now

    /// org_us on Professional (monthly, after its trial) with a day of API calls and users.
    static func engine(_ directory: TemporaryDirectory) async throws -> Engine {
        let engine = try await SubscribeCommandTests.engine(directory)
        try await engine.subscribe("org_us", to: "professional", interval: .monthly, at: now)
        return engine
    }

    static func usage(
        _ metric: String, _ quantity: Int64, user: String = "", resource: String = "", at offset: TimeInterval,
        key: String? = nil
    ) -> UsageRecord {
        UsageRecord(
            organizationID: "org_us", metric: metric, quantity: quantity, userID: user, resourceID: resource,
            occurredAt: now.addingTimeInterval(offset), idempotencyKey: key)
    }

    @Test("rollups per day, per user and per resource, with corrections landing where the original did")
    func rollups() async throws {
        let directory = TemporaryDirectory()
        let engine = try await Self.engine(directory)
        let first = try await engine.recordUsage(Self.usage("api_calls", 100, user: "ann", resource: "dash_1", at: 60))
        try await engine.recordUsage(Self.usage("api_calls", 40, user: "bob", resource: "dash_1", at: 120))
        // the next day
        try await engine.recordUsage(Self.usage("api_calls", 7, user: "ann", resource: "dash_2", at: 86_400))
        try await engine.recordUsage(Self.usage("storage_bytes", 5_000, at: 200))
        try await engine.recordUsage(Self.usage("storage_bytes", 3_000, at: 300))
        try await engine.correctUsage(
            "org_us", originalSequence: first.sequence, delta: -30, reason: "a retry storm double-counted",
            at: Self.now.addingTimeInterval(2 * 86_400))

        let days = try engine.usage(
            of: "org_us", metric: "api_calls", from: Self.now, to: Self.now.addingTimeInterval(5 * 86_400))
        #expect(days.map(\.key) == ["2025-11-24", "2025-11-25"])
        #expect(days.map(\.rollup.sum) == [110, 7])
        #expect(days.map(\.rollup.events) == [2, 1])
        let users = try engine.usage(
            of: "org_us", metric: "api_calls", from: Self.now, to: Self.now.addingTimeInterval(5 * 86_400), by: .user)
        #expect(users.map(\.key) == ["ann", "bob"] && users.map(\.rollup.sum) == [77, 40])
        let resources = try engine.usage(of: "org_us", from: Self.now, to: Self.now, by: .resource)
        #expect(resources.map(\.key) == ["dash_1"] && resources.map(\.rollup.sum) == [110])
        let storage = try engine.usage(of: "org_us", metric: "storage_bytes", from: Self.now, to: Self.now)
        #expect(storage.map(\.rollup.latest) == [3_000] && storage.map(\.rollup.maximum) == [5_000])
        #expect(try engine.quota(for: "org_us", metric: "api_calls", at: Self.now).usage == 117)
        await #expect(throws: EngineError.invalid(field: "from", rule: "must not be after to")) {
            _ = try engine.usage(of: "org_us", from: Self.now.addingTimeInterval(86_400), to: Self.now)
        }

        var dumps: [String: [String: [[UInt8]]]] = [:]
        for name in [UsageRollupsProjector.name, QuotasProjector.name] {
            dumps[name] = try engine.projections.flatDump(name)
        }
        for name in [UsageRollupsProjector.name, QuotasProjector.name] {
            try engine.projections.rebuild(name)
            #expect(try engine.projections.flatDump(name) == dumps[name], "\(name)")
        }
    }

    @Test("corrections never take usage below zero, apply only to sums, and a retry appends nothing")
    func correctionRules() async throws {
        let directory = TemporaryDirectory()
        let engine = try await Self.engine(directory)
        let calls = try await engine.recordUsage(Self.usage("api_calls", 100, at: 60))
        let users = try await engine.recordUsage(Self.usage("active_users", 1, user: "ann", at: 60))
        try await engine.correctUsage(
            "org_us", originalSequence: calls.sequence, delta: -60, reason: "refund", at: Self.now,
            idempotencyKey: "c-1")
        let head = try engine.log.head()
        let retry = try await engine.correctUsage(
            "org_us", originalSequence: calls.sequence, delta: -60, reason: "refund", at: Self.now,
            idempotencyKey: "c-1")
        #expect(retry.isDuplicate)
        #expect(try engine.log.head() == head)
        await #expect(
            throws: EngineError.invalid(
                field: "quantity_delta",
                rule:
                    "would take event \(calls.sequence) to -1 (recorded 100, corrected by -60 so far); it must stay at or above zero"
            )
        ) {
            try await engine.correctUsage(
                "org_us", originalSequence: calls.sequence, delta: -41, reason: "too much", at: Self.now)
        }
        try await engine.correctUsage(
            "org_us", originalSequence: calls.sequence, delta: -40, reason: "all of it", at: Self.now)
        #expect(try engine.quota(for: "org_us", metric: "api_calls", at: Self.now).usage == 0)
        await #expect(
            throws: EngineError.invalid(
                field: "original_sequence",
                rule: "active_users is not summed; only summed usage can be corrected (record a new value instead)")
        ) {
            try await engine.correctUsage(
                "org_us", originalSequence: users.sequence, delta: 1, reason: "x", at: Self.now)
        }
        await #expect(throws: EngineError.notFound("usage.recorded event 1 of org_us")) {
            try await engine.correctUsage("org_us", originalSequence: 1, delta: 1, reason: "x", at: Self.now)
        }
        await #expect(throws: EngineError.invalid(field: "quantity_delta", rule: "must not be zero")) {
            try await engine.correctUsage(
                "org_us", originalSequence: calls.sequence, delta: 0, reason: "x", at: Self.now)
        }
    }
}
