import EventLog
import Foundation
import LMDB
import ReadModels
import TallySupport
import TallyTestSupport
import Testing

@testable import Projections
@testable import Tally

/// A large usage batch is decided on a second core, which hands its events to the writer in
/// chunks while it decides the rest (`EventLog.append(streaming:)`). The batch must append
/// exactly what one record at a time appends: the same events in the same order, byte for
/// byte, and the same result for every record.
///
/// TALLY_TEST_SEED and TALLY_TEST_ITERATIONS (batches) vary it.
@Suite("Engine: a usage batch decided while it is appended")
struct UsageBatchStreamingTests {
    static let now = SubscribeCommandTests.now
    /// org_5 is registered but has no subscription; org_6 does not exist.
    static let organizations = (0...6).map { "org_\($0)" }

    /// Five organizations on Free (hard limits on calls, users, storage and dashboards) or
    /// Professional. A fixed clock, so that two engines given the same commands write the same bytes.
    static func engine(_ directory: TemporaryDirectory) async throws -> Engine {
        let engine = try Engine(directory: directory.path, clock: { now })
        try await engine.initializeDefaultPlans(at: now)
        for (index, organization) in organizations.prefix(6).enumerated() {
            try await engine.register(
                OrganizationRegistration(
                    id: organization, name: organization, billingEmail: "ap@\(organization).test", country: "US-NY",
                    currency: .usd),
                at: now)
            guard index < 5 else { continue }
            try await engine.subscribe(
                organization, to: index % 2 == 0 ? "free" : "professional", interval: .monthly, at: now)
        }
        // Earlier usage whose keys the batches retry and reuse.
        for (index, organization) in organizations.prefix(5).enumerated() {
            try await engine.recordUsage(
                UsageRecord(
                    organizationID: organization, metric: "api_calls", quantity: 10, userID: "usr_0",
                    occurredAt: now.addingTimeInterval(30),
                    idempotencyKey: "k\(index)"))
        }
        return engine
    }

    /// Records that reach limits, retry and reuse keys (within the batch and from the log), come
    /// before the subscription or too far after the log's clock, carry keys too long for the
    /// log, meter what the plan does not, or name nobody.
    static func batch(_ count: Int, round: Int, using random: inout SeededGenerator) -> [UsageRecord] {
        let metrics = ["api_calls", "api_calls", "active_users", "storage_bytes", "dashboards", "compute_seconds"]
        var records: [UsageRecord] = (0..<count).map { _ in
            let organization =
                Int.random(in: 0..<100, using: &random) < 90
                ? organizations[Int.random(in: 0..<5, using: &random)] : organizations.randomElement(using: &random)!
            let metric = metrics.randomElement(using: &random)!
            let quantity: Int64 =
                switch Int.random(in: 0..<20, using: &random) {
                case 0: -1
                case 1..<4: 0
                default:
                    metric == "storage_bytes"
                        ? Int64.random(in: 1...300_000_000, using: &random) : Int64.random(in: 1...900, using: &random)
                }
            var key = Bool.random(using: &random) ? "k\(Int.random(in: 0..<(40 + round * 40), using: &random))" : nil
            if Int.random(in: 0..<60, using: &random) == 0 {
                key = String(repeating: "k", count: Bool.random(using: &random) ? 300 : 600)
            }
            let offset =
                Int.random(in: 0..<50, using: &random) == 0
                ? -3_600.0 : Double(60 + Int.random(in: 0..<86_400, using: &random))
            return UsageRecord(
                organizationID: organization, metric: metric, quantity: key == nil ? quantity : 7,
                userID: "usr_\(Int.random(in: 0..<6, using: &random))",
                resourceID: "res_\(Int.random(in: 0..<3, using: &random))", occurredAt: now.addingTimeInterval(offset),
                idempotencyKey: key)
        }
        // True retries, which random keys seldom make: of earlier records of the batch, and of
        // the usage each organization recorded before the batches.
        for index in stride(from: 19, to: records.count, by: 20) {
            records[index] = records[Int.random(in: 0..<index, using: &random)]
        }
        for organization in 0..<5 {
            records[Int.random(in: 0..<records.count, using: &random)] = UsageRecord(
                organizationID: organizations[organization], metric: "api_calls", quantity: 10, userID: "usr_0",
                occurredAt: now.addingTimeInterval(30), idempotencyKey: "k\(organization)")
        }
        return records
    }

    @Test("a batch appends exactly what its records appended one at a time would")
    func sameAsOneAtATime() async throws {
        let seed = TestEnvironment.seed()
        print("UsageBatchStreamingTests: TALLY_TEST_SEED=\(seed)")
        var random = SeededGenerator(seed: seed)
        let (batchDirectory, singleDirectory) = (TemporaryDirectory(), TemporaryDirectory())
        let batched = try await Self.engine(batchDirectory)
        let single = try await Self.engine(singleDirectory)
        var outcomes: [String: Int] = [:]
        for round in 0..<TestEnvironment.iterations(default: 4) {
            let batch = Self.batch(
                Int.random(in: UsageDecider.smallestStreamedBatch...600, using: &random), round: round, using: &random)
            let streamed = batched.log.requestsStreamed
            let together = try await batched.recordUsage(batch)
            var alone: [Result<AppendReceipt, EngineError>] = []
            for usage in batch { alone.append(contentsOf: try await single.recordUsage([usage])) }
            // A key reused within the batch is refused with a message saying so; alone, the
            // earlier record is already in the log. The refusal is the same.
            let (a, b) = (together.map(Self.outcome), alone.map(Self.outcome))
            let first = a.indices.first { $0 >= b.count || a[$0] != b[$0] }
            #expect(
                a.count == b.count && first == nil,
                "record \(first ?? -1): \(first.map { a[$0] } ?? "") vs \(first.map { b[$0] } ?? "") (seed \(seed))")
            #expect(batched.log.requestsStreamed == streamed + 1, "the batch was decided on the second core")
            let (batchHead, singleHead) = (try batched.log.head(), try single.log.head())
            #expect(batchHead == singleHead, "the same events, byte for byte: round \(round) (seed \(seed))")
            for result in together {
                let kind =
                    switch result {
                    case .success(let receipt): receipt.isDuplicate ? "retry" : "appended"
                    case .failure(.quotaExceeded): "quotaExceeded"
                    case .failure(.invalid): "invalid"
                    case .failure(.notFound): "notFound"
                    case .failure(.conflict): "conflict"
                    }
                outcomes[kind, default: 0] += 1
            }
        }
        // The batches exercised what the chunks must carry across: retries, refusals of every kind.
        for kind in ["appended", "retry", "quotaExceeded", "invalid", "notFound", "conflict"] {
            #expect(outcomes[kind, default: 0] > 0, "no \(kind) outcome: \(outcomes) (seed \(seed))")
        }
        let limits = try batched.log.events(from: 1, limit: 100_000).filter { $0.eventType.hasPrefix("quota.") }
        #expect(!limits.isEmpty, "the batches crossed limits (seed \(seed))")
        #expect(
            try batched.projections.flatDump(QuotasProjector.name) == single.projections.flatDump(QuotasProjector.name))
    }

    static func outcome(_ result: Result<AppendReceipt, EngineError>) -> String {
        switch result {
        case .success(let receipt): "\(receipt.sequence)\(receipt.isDuplicate ? " (duplicate)" : "")"
        case .failure(.conflict): "conflict"
        case .failure(let error): "\(error)"
        }
    }

    @Test("one organization's batch streams and is right; a small one is decided on the writer")
    func oneOrganizationAndSmallBatches() async throws {
        let directory = TemporaryDirectory()
        let engine = try await Self.engine(directory)
        let records = (0..<200).map {
            UsageRecord(
                organizationID: "org_1", metric: "api_calls", quantity: 5, userID: "usr_\($0 % 4)",
                occurredAt: Self.now.addingTimeInterval(Double(60 + $0)))
        }
        #expect(try await engine.recordUsage(records).allSatisfy { (try? $0.get()) != nil })
        #expect(engine.log.requestsStreamed == 1)
        #expect(
            try await engine.recordUsage(Array(records.prefix(UsageDecider.smallestStreamedBatch - 1))).allSatisfy {
                (try? $0.get()) != nil
            })
        #expect(engine.log.requestsStreamed == 1)
        #expect(
            try engine.quota(for: "org_1", metric: "api_calls", at: Self.now).usage == 10 + 5
                * (200 + UsageDecider.smallestStreamedBatch - 1))
    }

    @Test("a batch too small to stream folds its usage on the writer, and equals a rebuild")
    func midSizedBatchEqualsARebuild() async throws {
        let directory = TemporaryDirectory()
        let engine = try await Self.engine(directory)
        // Professional organizations (1 and 3): nothing here reaches a limit, so every record appends.
        let records = (0..<(UsageDecider.smallestStreamedBatch - 1)).map { (number: Int) -> UsageRecord in
            let organization = number % 2 == 0 ? "org_1" : "org_3"
            let occurredAt = Self.now.addingTimeInterval(Double(120 + number))
            return UsageRecord(
                organizationID: organization, metric: "api_calls", quantity: Int64(1 + number),
                userID: "usr_\(number % 5)",
                resourceID: "res_\(number % 3)", occurredAt: occurredAt, idempotencyKey: "mid-\(number)")
        }
        #expect(try await engine.recordUsage(records).allSatisfy { (try? $0.get()) != nil })
        #expect(engine.log.requestsStreamed == 0)
        for name in [QuotasProjector.name, UsageRollupsProjector.name] {
            let kept = try engine.projections.flatDump(name)
            try engine.projections.rebuild(name, batchSize: 50)
            #expect(try engine.projections.flatDump(name) == kept, "\(name) equals a rebuild")
        }
    }
}
