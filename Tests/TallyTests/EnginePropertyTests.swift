import Billing
import EventLog
import Foundation
import Projections
import ReadModels
import Tally
import TallyTestSupport
import Testing

/// Issue 3's central property, at the engine's level: after a random stream of commands over
/// many organizations (some refused, some retried), every read model kept incrementally is
/// byte-identical to a full rebuild from the log, and to a snapshot folded as of the head.
@Suite("Engine: read models equal a rebuild on random command streams")
struct EnginePropertyTests {
    @Test func randomCommandStreams() async throws {
        let seed = TestEnvironment.seed()
        var random = SeededGenerator(seed: seed)
        let directory = TemporaryDirectory()
        let engine = try Engine(directory: directory.path)
        let start = Date(timeIntervalSince1970: 1_764_000_000)
        try await engine.initializeDefaultPlans(at: start)
        let plans = ["free", "professional", "enterprise"]
        let metrics = ["api_calls", "active_users", "storage_bytes", "realtime_connections", "data_exports", "dashboards"]
        var refused = 0

        for step in 0..<TestEnvironment.iterations(default: 400) {
            let organization = "org_\(Int.random(in: 0..<12, using: &random))"
            let date = start.addingTimeInterval(Double(step) * 600)
            do {
                switch Int.random(in: 0..<14, using: &random) {
                case 0:
                    try await engine.register(OrganizationRegistration(
                        id: organization, name: "Org \(organization)", billingEmail: "ap@\(organization).test", country: "US", currency: .usd), at: date)
                case 1:
                    try await engine.subscribe(
                        organization, to: plans.randomElement(using: &random)!, interval: Bool.random(using: &random) ? .monthly : .annual,
                        at: date, idempotencyKey: "sub-\(organization)")
                case 2:
                    try await engine.changePlan(
                        organization, to: plans.randomElement(using: &random)!, interval: Bool.random(using: &random) ? .monthly : .annual,
                        at: date, immediately: Bool.random(using: &random))
                case 3:
                    try await engine.cancelSubscription(organization, at: date, immediately: Bool.random(using: &random))
                case 4:
                    try await engine.reactivateSubscription(organization, at: date)
                default:
                    let key = Bool.random(using: &random) ? "u-\(Int.random(in: 0..<200, using: &random))" : nil
                    try await engine.recordUsage(UsageRecord(
                        organizationID: organization, metric: metrics.randomElement(using: &random)!,
                        quantity: key == nil ? Int64.random(in: 0...3_000, using: &random) : 50,
                        userID: "usr_\(Int.random(in: 0..<6, using: &random))", occurredAt: date, idempotencyKey: key))
                }
            } catch is EngineError {
                refused += 1  // refusals are part of the stream: they must leave nothing behind
            } catch EventLogError.idempotencyConflict {
                refused += 1
            }
        }
        #expect(refused > 0, "the stream should exercise refusals too (seed \(seed))")
        let head = try #require(try engine.log.head())
        let names = [CatalogProjector.name, SubscriptionsProjector.name, QuotasProjector.name]
        var incremental: [String: [String: [[UInt8]]]] = [:]
        for name in names {
            incremental[name] = try engine.projections.flatDump(name)
            #expect(try engine.projections.checkpoint(of: name).sequence == head.sequence, "seed \(seed)")
        }
        let snapshot = try ProjectionSnapshot(
            of: engine.log, asOf: head.sequence, projectors: [CatalogProjector(), SubscriptionsProjector(), QuotasProjector()])
        for name in names {
            try engine.projections.rebuild(name, batchSize: 97)
            #expect(try engine.projections.flatDump(name) == incremental[name], "\(name), seed \(seed)")
            #expect(try snapshot.projections.flatDump(name) == incremental[name], "\(name) as of head, seed \(seed)")
        }
        #expect(try engine.log.verify().isIntact)
    }
}
