import Foundation
import Tally
import TallyTestSupport
import Testing

/// A service holding the engine open while an operator's `tally append` records usage into
/// the same data: each process's read models must include the other's commits.
@Suite("Two processes on one log")
struct TwoProcessesTests {
    @Test(
        "usage recorded by another process between two of ours is counted: the engine's held cells are not trusted past a foreign commit"
    )
    func foreignCommitInvalidatesHeldCells() async throws {
        let data = TallyProcess.temporaryPath()
        let start = try Date("2026-10-01T00:00:00Z", strategy: .iso8601)
        let engine = try Engine(directory: data)
        try await engine.initializeDefaultPlans(at: start)
        try await engine.register(
            OrganizationRegistration(
                id: "org_42", name: "Acme", billingEmail: "ap@acme.test", country: "DE", currency: .usd), at: start)
        try await engine.subscribe("org_42", to: "free", interval: .monthly, at: start)
        let day = start.addingTimeInterval(9 * 3_600)
        func usage(_ quantity: Int64, _ key: String) -> UsageRecord {
            UsageRecord(
                organizationID: "org_42", metric: "api_calls", quantity: quantity, userID: "usr_1", occurredAt: day,
                idempotencyKey: key)
        }
        try await engine.recordUsage(usage(100, "ours-1"))

        let commands = """
            {"recordUsage": {"organizationId": "org_42", "metric": "api_calls", "quantity": "20", "userId": "usr_1", "occurredAt": "2026-10-01T09:00:00Z", "idempotencyKey": "theirs-1"}}
            """
        let file = TallyProcess.temporaryPath() + ".jsonl"
        try commands.write(toFile: file, atomically: true, encoding: .utf8)
        let run = try TallyProcess.run(["append", file, "--data", data])
        #expect(run.status == 0, "\(run.stderr)")

        try await engine.recordUsage(usage(3, "ours-2"))
        #expect(try engine.quota(for: "org_42", metric: "api_calls", at: day).usage == 123)
        let kept = try ["quotas", "usage_rollups"].map {
            try engine.projections.dump($0).mapValues { $0.map { $0.0 + [0xFF] + $0.1 } }
        }
        try engine.projections.rebuildAll()
        let rebuilt = try ["quotas", "usage_rollups"].map {
            try engine.projections.dump($0).mapValues { $0.map { $0.0 + [0xFF] + $0.1 } }
        }
        #expect(kept == rebuilt)
        #expect(try engine.quota(for: "org_42", metric: "api_calls", at: day).usage == 123)
    }
}
