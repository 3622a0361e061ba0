import EventLog
import Foundation
import Tally
import TallyTestSupport
import Testing

/// A service keeps its engine open while an operator's `tally append` changes the same data
/// directory from another process. What the service decides next must see that change, even
/// though its usage decisions keep subscriptions and plans from one batch to the next.
@Suite("tally append beside an engine another process keeps open")
struct SharedDataDirectoryTests {
    static let now = ISO8601DateFormatter().date(from: "2026-10-05T00:00:00Z")!

    /// 100 records of 90 API calls for org_42, on 2026-10-02: 9,000 calls, most of Free's 10,000.
    static func batch(_ round: Int) -> [UsageRecord] {
        (0..<100).map { number in
            UsageRecord(
                organizationID: "org_42", metric: "api_calls", quantity: 90, userID: "usr_\(number % 4)",
                occurredAt: ISO8601DateFormatter().date(from: "2026-10-02T09:00:00Z")!.addingTimeInterval(
                    Double(round * 1_000 + number)),
                idempotencyKey: "batch-\(round)-\(number)")
        }
    }

    @Test("a plan change and a cancellation made by another process reach the open engine's next batch")
    func otherProcessChanges() async throws {
        let data = TallyProcess.temporaryPath()
        let setup = try TallyProcess.run([
            "append", try AppendImportTests.file(AppendImportTests.setup, ".jsonl"), "--data", data,
        ])
        #expect(setup.status == 0, "\(setup.stderr)")
        let engine = try Engine(directory: data, clock: { Self.now })
        let first = try await engine.recordUsage(Self.batch(0))
        #expect(first.allSatisfy { (try? $0.get()) != nil })

        let upgrade = """
            {"changePlan": {"organizationId": "org_42", "planId": "professional", "interval": {"kind": "BILLING_INTERVAL_MONTHLY"}, "immediately": true}, "at": "2026-10-03T00:00:00Z"}
            """
        let upgraded = try TallyProcess.run(["append", try AppendImportTests.file(upgrade, ".jsonl"), "--data", data])
        #expect(upgraded.status == 0, "\(upgraded.stderr)")
        // On Free the second 9,000 calls would pass the hard limit of 10,000 after about 1,000.
        let second = try await engine.recordUsage(Self.batch(1))
        #expect(
            second.allSatisfy { (try? $0.get()) != nil },
            "held to Professional's limits: \(second.compactMap { try? $0.get() }.count) appended")
        #expect(try engine.quota(for: "org_42", metric: "api_calls", at: Self.now).usage == 18_000)

        let cancel = """
            {"cancelSubscription": {"organizationId": "org_42", "immediately": true}, "at": "2026-10-04T00:00:00Z"}
            """
        let canceled = try TallyProcess.run(["append", try AppendImportTests.file(cancel, ".jsonl"), "--data", data])
        #expect(canceled.status == 0, "\(canceled.stderr)")
        let third = try await engine.recordUsage(Self.batch(2))
        #expect(
            third.allSatisfy { if case .failure(.conflict) = $0 { true } else { false } },
            "a canceled subscription accepts no usage")
    }
}
