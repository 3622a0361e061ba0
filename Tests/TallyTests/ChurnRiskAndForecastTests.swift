import Billing
import Foundation
import ReadModels
import Tally
import TallyTestSupport
import Testing

/// Issue 6: churn-risk scores and usage forecasts, through the engine, computed by hand.
@Suite("Engine: churn risk and usage forecasts")
struct ChurnRiskAndForecastTests {
    static func date(_ text: String) -> Date { MRRMovementTests.date(text) }

    /// Lives day by day from December 1, 2024 until `end` (excluded): time advanced each day,
    /// then `usage(day)` recorded at noon.
    static func live(_ engine: Engine, until end: String, usage: (Date) -> [UsageRecord]) async throws {
        var day = date("2024-12-01")
        while day < date(end) {
            try await engine.advance(to: day)
            for result in try await engine.recordUsage(usage(day.addingTimeInterval(12 * 3_600))) {
                _ = try result.get()
            }
            day = day.addingTimeInterval(86_400)
        }
    }

    static func calls(_ organization: String, _ quantity: Int64, user: Int, at moment: Date) -> UsageRecord {
        UsageRecord(
            organizationID: organization, metric: "api_calls", quantity: quantity, userID: "usr_\(user)",
            occurredAt: moment)
    }

    @Test(
        "a customer going quiet, losing users and canceling scores high, with each signal explained; a steady one scores low"
    )
    func churnRisk() async throws {
        let directory = TemporaryDirectory()
        let engine = try await MRRMovementTests.engine(
            directory, organizations: ["org_risky", "org_steady"], signup: "2024-12-01")
        for id in ["org_risky", "org_steady"] {
            try await engine.subscribe(id, to: "growth", interval: .monthly, at: Self.date("2024-12-01"))
        }
        try await Self.live(engine, until: "2025-01-29") { moment in
            let quiet = moment >= Self.date("2025-01-15")
            let risky =
                quiet
                ? [Self.calls("org_risky", 5, user: 0, at: moment)]
                : (0..<10).map { Self.calls("org_risky", 5, user: $0, at: moment) }
            return risky + (0..<10).map { Self.calls("org_steady", 5, user: $0, at: moment) }
        }
        try await engine.cancelSubscription("org_risky", at: Self.date("2025-01-20"))
        let today = Self.date("2025-01-29")
        let risks = try engine.live.churnRisks(at: today)
        #expect(risks.map(\.organizationID) == ["org_risky", "org_steady"])
        let risky = risks[0]
        // Usage: 7 events in Jan 22–28 against 217 in the 28 days before (54 a week): −87% → 20.
        // Users: 1 in the last 14 days against 10 before: −90% → 15. Cancels Feb 1, in 3 days → 20.
        // 1 of the plan's 7 metrics used → 5. Paying for 59 days → 5. No payment trouble, no downgrade.
        #expect(risky.observations.recentActivity == 7)
        #expect(risky.observations.baselineActivity == 217)
        #expect(risky.observations.recentUsers == 1)
        #expect(risky.observations.earlierUsers == 10)
        #expect(risky.observations.daysUntilCancellation == 3)
        #expect(risky.observations.tenureDays == 59)
        #expect(risky.risk.score == 65)
        #expect(risky.risk.signals.prefix(3).map(\.name) == [.usageDecline, .cancellationScheduled, .activeUsersDrop])
        let steady = risks[1]
        #expect(steady.risk.score == 10, "only adoption (1 of 7 metrics) and tenure (59 days): \(steady.risk.signals)")

        // As of an earlier date the same organization was not yet at risk.
        let before = try #require(
            try engine.view(asOf: .occurredAt(Self.date("2025-01-14"))).churnRisk(
                of: "org_risky", at: Self.date("2025-01-14")))
        #expect(before.risk.score == 10)
    }

    @Test("a steady 300 calls a day against a hard limit of 9,000: the forecast flags it with the day it will cross")
    func forecastFlagsHardLimit() async throws {
        let directory = TemporaryDirectory()
        let engine = try await MRRMovementTests.engine(directory, organizations: ["org_busy"], signup: "2024-12-01")
        try await engine.subscribe("org_busy", to: "growth", interval: .monthly, at: Self.date("2024-12-01"))
        try await engine.configureQuota(
            "org_busy", metric: "api_calls", softLimit: 5_000, hardLimit: 9_000, at: Self.date("2024-12-01"))
        // From December 18: 28 days of history by January 15, and December within its limit.
        try await Self.live(engine, until: "2025-01-15") { moment in
            guard moment >= Self.date("2024-12-18") else { return [] }
            return [Self.calls("org_busy", 300, user: 0, at: moment)]
                + (0..<2).map {
                    UsageRecord(
                        organizationID: "org_busy", metric: "active_users", quantity: 1, userID: "usr_\($0)",
                        occurredAt: moment)
                }
        }
        try await engine.advance(to: Self.date("2025-01-15"))

        let forecast = try #require(
            try engine.live.forecasts(of: "org_busy", metric: "api_calls", at: Self.date("2025-01-15")).first)
        #expect(forecast.history == Array(repeating: 300, count: 28))
        #expect(forecast.currentUsage == 4_200)  // January 1–14
        #expect(forecast.forecast == Array(repeating: 300, count: 17))  // January 15–31
        #expect(forecast.projectedUsage == 9_300)
        #expect(forecast.softLimitDay == Self.date("2025-01-17"))  // 4,200 + 3 × 300 = 5,100
        #expect(forecast.hardLimitDay == Self.date("2025-01-30"))  // 4,200 + 16 × 300 = 9,000
        #expect(forecast.outlook == .hardLimitExpected)

        let all = try engine.live.forecasts(of: "org_busy", at: Self.date("2025-01-15"))
        #expect(
            all.map(\.metric) == [
                "active_users", "api_calls", "compute_seconds", "dashboards", "data_exports", "realtime_connections",
                "storage_bytes",
            ])
        let users = try #require(all.first)
        #expect(
            users.history == Array(repeating: 2, count: 28),
            "unique counts are forecast as a level: distinct users a day")
        #expect(users.outlook == .withinLimits)
    }
}
