import EventLog
import Foundation
import ReadModels
import TallyTestSupport
import Testing

@testable import Projections
@testable import Tally

/// Usage decisions keep each organization's subscription and plan from one batch to the next
/// (`UsageTermsCache`) while the read models they come from do not change. Every change
/// between two batches must reach the second: a plan change, a cancellation, a rebuild.
@Suite("Engine: usage decisions keep the terms they read only while they hold")
struct UsageTermsCacheTests {
    static let now = SubscribeCommandTests.now

    /// org_a on Free (at most 10,000 API calls), org_b on Professional.
    static func engine(_ directory: TemporaryDirectory) async throws -> Engine {
        let engine = try Engine(directory: directory.path, clock: { now })
        try await engine.initializeDefaultPlans(at: now)
        for (organization, plan) in [("org_a", "free"), ("org_b", "professional")] {
            try await engine.register(
                OrganizationRegistration(
                    id: organization, name: organization, billingEmail: "ap@\(organization).test", country: "US-NY",
                    currency: .usd),
                at: now)
            try await engine.subscribe(organization, to: plan, interval: .monthly, at: now)
        }
        return engine
    }

    /// `count` records of `quantity` API calls each, alternating between org_a and org_b.
    static func batch(_ count: Int, quantity: Int64, round: Int) -> [UsageRecord] {
        (0..<count).map { number in
            UsageRecord(
                organizationID: number % 2 == 0 ? "org_a" : "org_b", metric: "api_calls", quantity: quantity,
                userID: "usr_\(number % 3)",
                occurredAt: now.addingTimeInterval(Double(60 + round * 1_000 + number)),
                idempotencyKey: "r\(round)-\(number)")
        }
    }

    static func kinds(_ results: [Result<AppendReceipt, EngineError>]) -> [String] {
        results.map { result in
            switch result {
            case .success: "appended"
            case .failure(.quotaExceeded): "quotaExceeded"
            case .failure(.conflict): "conflict"
            case .failure(let error): "\(error)"
            }
        }
    }

    @Test("a plan change and a cancellation between two batches reach the second", arguments: [200, 20])
    func changesBetweenBatches(batchSize: Int) async throws {
        let directory = TemporaryDirectory()
        let engine = try await Self.engine(directory)
        let quantity = Int64(9_000 / (batchSize / 2))
        // Free's 10,000 calls: 9,000 now, so that a second batch like it would cross the limit.
        #expect(
            Self.kinds(try await engine.recordUsage(Self.batch(batchSize, quantity: quantity, round: 0))).allSatisfy {
                $0 == "appended"
            })
        #expect(engine.log.requestsStreamed == (batchSize >= UsageDecider.smallestStreamedBatch ? 1 : 0))

        // Upgraded: the second batch is held to Professional's limits, not Free's kept from the first.
        try await engine.changePlan(
            "org_a", to: "professional", interval: .monthly, at: Self.now.addingTimeInterval(50_000), immediately: true)
        let second = Self.kinds(try await engine.recordUsage(Self.batch(batchSize, quantity: quantity, round: 1)))
        #expect(second.allSatisfy { $0 == "appended" }, "\(second)")
        #expect(try engine.quota(for: "org_a", metric: "api_calls", at: Self.now).usage == 2 * 9_000)

        // Canceled: org_a's usage is refused, org_b's still appended.
        try await engine.cancelSubscription("org_a", at: Self.now.addingTimeInterval(60_000), immediately: true)
        let third = Self.kinds(try await engine.recordUsage(Self.batch(batchSize, quantity: 1, round: 2)))
        #expect(
            third.enumerated().allSatisfy { $0.element == ($0.offset % 2 == 0 ? "conflict" : "appended") }, "\(third)")
    }

    @Test("batches with nothing changed between them decide exactly as an engine that keeps nothing")
    func keptTermsDecideTheSame() async throws {
        let (keeping, fresh) = (TemporaryDirectory(), TemporaryDirectory())
        let kept = try await Self.engine(keeping)
        let other = try await Self.engine(fresh)
        for round in 0..<4 {
            let batch = Self.batch(100, quantity: 300, round: round)
            let results = try await kept.recordUsage(batch)
            // A new engine on the other directory for every batch keeps nothing from the one before.
            let reopened = round == 0 ? other : try Engine(directory: fresh.path, clock: { Self.now })
            #expect(Self.kinds(results) == Self.kinds(try await reopened.recordUsage(batch)))
        }
        #expect(try kept.log.head() == other.log.head())
        #expect(
            Self.kinds(try await kept.recordUsage(Self.batch(100, quantity: 300, round: 9))).contains("quotaExceeded"),
            "org_a reached Free's limit")
    }

    @Test("a rebuild between two batches: the terms are read again")
    func rebuildBetweenBatches() async throws {
        let directory = TemporaryDirectory()
        let engine = try await Self.engine(directory)
        _ = try await engine.recordUsage(Self.batch(100, quantity: 10, round: 0))
        let before = try #require(
            engine.projections.read(SubscriptionsProjector.name) { reader in
                engine.projections.stamp(of: UsageTermsCache.readModels, seenBy: reader.transaction)
            })
        try engine.projections.rebuildAll()
        let after = try engine.projections.read(SubscriptionsProjector.name) { reader in
            engine.projections.stamp(of: UsageTermsCache.readModels, seenBy: reader.transaction)
        }
        #expect(after != before, "a rebuild swaps the live slots: whatever was read before may be gone")
        #expect(
            Self.kinds(try await engine.recordUsage(Self.batch(100, quantity: 10, round: 1))).allSatisfy {
                $0 == "appended"
            })
    }
}
