import Foundation
import TallyTestSupport
import Testing

/// Issue 6's commands, run as an analyst runs them, over the query suite's demo history
/// (25 organizations, 4 months to 2026-11-01).
@Suite("tally mrr, churn, cohorts, ltv, risk and forecast")
struct AnalyticsCommandTests {
    static func tally(_ arguments: String...) throws -> TallyProcess.Run {
        try TallyProcess.run(arguments + ["--data", QueryCommandTests.data])
    }

    static func rows(_ arguments: String...) throws -> [[String: Any]] {
        let run = try TallyProcess.run(arguments + ["--data", QueryCommandTests.data, "--format", "json"])
        #expect(run.status == 0, "\(arguments): \(run.stderr)")
        return try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [[String: Any]])
    }

    static func minor(_ row: [String: Any], _ key: String) -> Int {
        (row[key] as? [String: Any])?["minor_units"] as? Int ?? .min
    }

    @Test("mrr: per month and per day, the movements add up to the change in MRR, ARR is 12 × MRR; an SVG chart")
    func mrr() throws {
        let months = try Self.rows("mrr", "--from", "2026-07-01", "--to", "2026-10-31")
        #expect(months.map { $0["from"] as? String } == ["2026-07-01", "2026-08-01", "2026-09-01", "2026-10-01"])
        #expect(Self.minor(months[3], "mrr") > 0, "the demo's customers pay")
        for row in months {
            let movements = ["new_business", "expansion", "contraction", "churn", "reactivation"].reduce(0) {
                $0 + Self.minor(row, $1)
            }
            #expect(movements == Self.minor(row, "net_change"))
            #expect(Self.minor(row, "mrr") - Self.minor(row, "mrr_start") == movements)
            #expect(Self.minor(row, "arr") == 12 * Self.minor(row, "mrr"))
        }
        for (earlier, later) in zip(months, months.dropFirst()) {
            #expect(Self.minor(earlier, "mrr") == Self.minor(later, "mrr_start"))
        }
        let days = try Self.rows(
            "mrr", "--from", "2026-10-01", "--to", "2026-10-31", "--interval", "day", "--include-usage")
        #expect(days.count == 31)
        #expect(Self.minor(days[30], "mrr") == Self.minor(months[3], "mrr"))
        #expect(days.reduce(0) { $0 + Self.minor($1, "net_change") } == Self.minor(months[3], "net_change"))
        #expect(
            days.allSatisfy {
                Self.minor($0, "mrr_with_usage") == Self.minor($0, "mrr") + Self.minor($0, "usage_revenue")
            })

        // Per organization: their MRRs add up to the total.
        var sum = 0
        for index in 0..<25 {
            let rows = try Self.rows(
                "mrr", "--organization", String(format: "org_%04d", index), "--from", "2026-10-01", "--to", "2026-10-31"
            )
            sum += rows.first.map { Self.minor($0, "mrr") } ?? 0
        }
        #expect(sum == Self.minor(months[3], "mrr"))

        let chart = TallyProcess.temporaryPath() + ".svg"
        let run = try Self.tally(
            "mrr", "--from", "2026-07-01", "--to", "2026-10-31", "--chart", chart, "--format", "csv")
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.hasPrefix("currency,from,to,mrr_start,mrr,arr,customers,"))
        let svg = try String(contentsOfFile: chart, encoding: .utf8)
        #expect(
            svg.hasPrefix("<svg") && svg.contains("MRR and its movements (USD)") && svg.contains("Month (UTC)")
                && svg.contains("<polyline"))

        // As of September 15, the business knew nothing of what came after: its MRR stands still from then on.
        let asOf = try Self.rows(
            "mrr", "--from", "2026-09-01", "--to", "2026-10-31", "--interval", "day", "--as-of", "2026-09-15")
        let live = try Self.rows("mrr", "--from", "2026-09-01", "--to", "2026-09-14", "--interval", "day")
        #expect(asOf.prefix(14).map { Self.minor($0, "mrr") } == live.map { Self.minor($0, "mrr") })
        #expect(asOf.dropFirst(15).allSatisfy { Self.minor($0, "net_change") == 0 })
        let bad = try Self.tally("mrr", "--from", "2026-10-01", "--to", "2026-09-01")
        #expect(bad.status == 2 && bad.stderr.contains("--from must not be after --to"))
        let badInterval = try Self.tally("mrr", "--interval", "week")
        #expect(badInterval.status != 0)
    }

    @Test("churn: customers and rates per month agree with themselves")
    func churn() throws {
        let months = try Self.rows("churn", "--from", "2026-08-01", "--to", "2026-10-31")
        #expect(months.map { $0["month"] as? String } == ["2026-08", "2026-09", "2026-10"])
        for row in months {
            let start = row["customers_start"] as? Int ?? -1
            let end = row["customers_end"] as? Int ?? -1
            #expect(end == start + (row["new_customers"] as? Int ?? 0) - (row["churned_customers"] as? Int ?? 0))
            if start > 0 {
                let rate = try #require(row["customer_churn_rate"] as? Double)
                let expected = Double(row["churned_customers"] as? Int ?? 0) * 100 / Double(start)
                #expect(abs(rate - expected) <= 0.005)
            }
        }
    }

    @Test("cohorts: a triangle as a table, one row per cohort and month as json; trial conversion")
    func cohorts() throws {
        let table = try Self.tally("cohorts", "--to", "2026-10-31", "--format", "table")
        #expect(table.status == 0, "\(table.stderr)")
        #expect(table.stdout.contains("cohort (USD, logos %)") && table.stdout.contains("m0"))
        let rows = try Self.rows("cohorts", "--to", "2026-10-31")
        #expect(!rows.isEmpty)
        for row in rows {
            #expect((row["paying_customers"] as? Int ?? .max) <= (row["customers"] as? Int ?? -1))
        }
        let trials = try Self.rows("cohorts", "--trials")
        #expect(!trials.isEmpty)
        for row in trials {
            let started = row["trials_started"] as? Int ?? 0
            let parts = ["converted", "expired", "canceled", "still_trialing"].reduce(0) { $0 + (row[$1] as? Int ?? 0) }
            #expect(parts == started)
        }
    }

    @Test("ltv: ARPA over the churn rate, null when nobody churned")
    func ltv() throws {
        let rows = try Self.rows("ltv", "--from", "2026-08-01", "--to", "2026-10-31", "--trailing", "3")
        #expect(rows.count == 3)
        for row in rows where (row["trailing_churned"] as? Int) == 0 { #expect(row["trailing_ltv"] is NSNull) }
        let bad = try Self.tally("ltv", "--trailing", "0")
        #expect(bad.status == 2 && bad.stderr.contains("--trailing: expected 1 to 36 months, got 0"))
    }

    @Test("risk: the riskiest first, each with its seven signals and their weights; forecast per metric")
    func riskAndForecast() throws {
        let risks = try Self.rows("risk", "--top", "3", "--as-of", "2026-10-31")
        #expect(!risks.isEmpty && risks.count <= 3)
        let scores = risks.map { $0["score"] as? Int ?? -1 }
        #expect(scores == scores.sorted(by: >))
        for risk in risks {
            let signals = try #require(risk["signals"] as? [[String: Any]])
            #expect(signals.count == 7)
            #expect(signals.reduce(0) { $0 + ($1["weight"] as? Int ?? 0) } == 100)
            #expect(signals.reduce(0) { $0 + ($1["points"] as? Int ?? 0) } == risk["score"] as? Int)
        }
        let table = try Self.tally("risk", "--top", "2", "--format", "table")
        #expect(table.status == 0 && table.stdout.contains("signals"))
        let unknown = try Self.tally("risk", "--organization", "org_nobody")
        #expect(unknown.status == 2 && unknown.stderr.contains("no subscription for org_nobody"))

        let organization = try #require(risks.first?["organization_id"] as? String)
        let forecasts = try Self.rows("forecast", organization, "--as-of", "2026-10-20")
        #expect(!forecasts.isEmpty)
        let outlooks = ["within_limits", "soft_limit_expected", "hard_limit_expected", "hard_limit_reached"]
        #expect(forecasts.allSatisfy { outlooks.contains($0["outlook"] as? String ?? "") })
        let one = try Self.rows("forecast", organization, "api_calls", "--as-of", "2026-10-20")
        #expect(one.map { $0["metric"] as? String } == ["api_calls"])
        // Without an organization: every organization and metric expected to cross a limit.
        let flagged = try Self.rows("forecast", "--as-of", "2026-10-20")
        #expect(flagged.allSatisfy { ($0["outlook"] as? String) != "within_limits" && $0["organization_id"] is String })
        for row in flagged where row["outlook"] as? String == "hard_limit_expected" {
            #expect((row["projected_usage"] as? Int ?? 0) >= (row["hard_limit"] as? Int ?? .max))
        }
        let missing = try Self.tally("forecast", "org_nobody")
        #expect(missing.status == 2 && missing.stderr.contains("no organization org_nobody"))
    }
}
