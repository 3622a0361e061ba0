import Foundation
import TallyTestSupport
import Testing

/// The query and maintenance commands, run as a user runs them, over one small demo history.
@Suite("tally show, quota, usage, rebuild and stats")
struct QueryCommandTests {
    /// A demo of 25 organizations over 4 months, made once for the suite.
    static let data: String = {
        let path = TallyProcess.temporaryPath()
        let run = try! TallyProcess.run([
            "demo", "--data", path, "--organizations", "25", "--months", "4", "--seed", "11",
        ])
        precondition(run.status == 0, run.stderr)
        return path
    }()

    static func tally(_ arguments: String...) throws -> TallyProcess.Run {
        try TallyProcess.run(arguments + ["--data", data])
    }

    static func json(_ run: TallyProcess.Run) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(run.stdout.utf8))
    }

    @Test("show organization and subscription: now, and as of an earlier date or sequence")
    func show() throws {
        let organization = try #require(
            try Self.json(Self.tally("show", "organization", "org_0001", "--format", "json")) as? [String: Any])
        #expect(organization["id"] as? String == "org_0001")
        #expect(organization["currency"] as? String == "USD")
        let subscription = try #require(
            try Self.json(Self.tally("show", "subscription", "org_0001", "--format", "json")) as? [String: Any])
        let subscriptionID = try #require(subscription["id"] as? String)
        let byID = try #require(
            try Self.json(Self.tally("show", "subscription", subscriptionID, "--format", "json")) as? [String: Any])
        #expect(byID["organization_id"] as? String == "org_0001")
        // Before anyone signed up, there was nothing; after event 3 (the three plans), no organization.
        let before = try Self.tally("show", "organization", "org_0001", "--as-of", "2025-07-01")
        #expect(before.status != 0 && before.stderr.contains("no organization org_0001 as of 2025-07-01"))
        #expect(try Self.tally("show", "organization", "org_0001", "--as-of", "3").status != 0)
        let table = try Self.tally("show", "subscription", "org_0001", "--format", "table")
        #expect(table.stdout.contains("plan_id") && table.stdout.contains("status"))
    }

    @Test("quota and usage in json, csv and table; the totals agree across breakdowns")
    func quotaAndUsage() throws {
        let quota = try #require(
            try Self.json(Self.tally("quota", "org_0001", "--as-of", "2026-10-15", "--format", "json"))
                as? [[String: Any]])
        #expect(!quota.isEmpty)
        #expect(
            quota.allSatisfy {
                ["within_included", "over_included", "soft_limit_reached", "hard_limit_reached"].contains(
                    $0["state"] as? String ?? "")
            })
        let csv = try Self.tally(
            "usage", "org_0001", "--from", "2026-10-01", "--to", "2026-10-31", "--by", "user", "--format", "csv")
        #expect(csv.status == 0)
        #expect(csv.stdout.hasPrefix("metric,user,sum,events,max,latest\n"))
        var totals: [String: Int] = [:]
        for breakdown in ["day", "user"] {
            let rows = try #require(
                try Self.json(
                    Self.tally(
                        "usage", "org_0001", "--metric", "api_calls", "--from", "2026-10-01", "--to", "2026-10-31",
                        "--by", breakdown, "--format", "json")) as? [[String: Any]])
            totals[breakdown] = rows.reduce(0) { $0 + ($1["sum"] as? Int ?? 0) }
        }
        #expect(totals["day"] == totals["user"])
        #expect((totals["day"] ?? 0) > 0)
    }

    @Test("invoices of an organization, and one invoice readable, as json and as csv lines")
    func invoices() throws {
        let list = try #require(
            try Self.json(Self.tally("invoices", "org_0001", "--format", "json")) as? [[String: Any]])
        let number = try #require(list.first?["number"] as? String, "the demo's periods close with invoices")
        #expect(["open", "paid", "void", "uncollectible"].contains(list.first?["status"] as? String ?? ""))
        let readable = try Self.tally("invoice", number, "--format", "table")
        #expect(
            readable.status == 0 && readable.stdout.hasPrefix("INVOICE \(number)") && readable.stdout.contains("Total"))
        let payload = try #require(try Self.json(Self.tally("invoice", number, "--format", "json")) as? [String: Any])
        #expect(payload["invoiceId"] as? String == number && payload["lines"] is [Any])
        let csv = try Self.tally("invoice", number, "--format", "csv")
        #expect(csv.stdout.hasPrefix("kind,description,quantity,amount,tax\nrecurring,"))
        #expect(try Self.tally("invoice", "2099-000001").status == 2)
        // Paid invoices left payment attempts behind; the whole demo has some.
        var outcomes: Set<String> = []
        for index in 0..<25 {
            let rows = try #require(
                try Self.json(
                    Self.tally(
                        "payments", "org_\(String(repeating: "0", count: 4 - String(index).count))\(index)", "--format",
                        "json")) as? [[String: Any]])
            for row in rows { outcomes.insert(row["outcome"] as? String ?? "?") }
        }
        #expect(
            outcomes.contains("succeeded") && outcomes.isSubset(of: ["succeeded", "failed", "refunded"]), "\(outcomes)")
        #expect(try Self.tally("payments", "org_nobody").status == 2)
        let revenue = try #require(
            try Self.json(Self.tally("revenue", "--from", "2026-07-01", "--to", "2026-10-31", "--format", "json"))
                as? [[String: Any]])
        let usd = try #require(revenue.first { $0["currency"] as? String == "USD" }?["recognized"] as? [String: Any])
        #expect((usd["minor_units"] as? Int ?? 0) > 0)
        let deferred = try #require(
            try Self.json(
                Self.tally("revenue", "--from", "2026-07-01", "--to", "2026-10-31", "--deferred", "--format", "json"))
                as? [[String: Any]])
        #expect(
            deferred.allSatisfy { ($0["deferred"] as? [String: Any])?["minor_units"] as? Int == 0 }, "billed in arrears"
        )
    }

    @Test("rebuild prints its rate and changes no answer; stats counts every event")
    func rebuildAndStats() throws {
        let before = try Self.tally("quota", "org_0002", "--as-of", "2026-10-15", "--format", "json").stdout
        let rebuild = try Self.tally("rebuild")
        #expect(rebuild.status == 0, "\(rebuild.stderr)")
        #expect(rebuild.stdout.contains("events/s"))
        #expect(try Self.tally("rebuild", "--projection", "quotas").status == 0)
        let checked = try Self.tally("rebuild", "--check")
        #expect(
            checked.status == 0
                && checked.stdout.contains("checked: every rebuilt database equals the one kept incrementally"),
            "\(checked.stderr)")
        #expect(try Self.tally("quota", "org_0002", "--as-of", "2026-10-15", "--format", "json").stdout == before)
        let stats = try #require(try Self.json(Self.tally("stats", "--format", "json")) as? [String: Any])
        let byType = try #require(stats["by_type"] as? [String: Int])
        #expect(byType.values.reduce(0, +) == stats["events"] as? Int)
        #expect((stats["bytes_per_event"] as? Int ?? 0) > 0)
    }

    @Test(
        "bad input: one line on stderr, a non-zero exit",
        arguments: [
            ["show", "organization", "org_nobody"],
            ["show", "organization", "org_0001", "--as-of", "yesterday"],
            ["show", "subscription", "org_0001", "--as-of", "99999999"],
            ["quota", "org_0001", "gpu_hours"],
            ["usage", "org_0001", "--by", "month"],
            ["usage", "org_0001", "--from", "2026-10-31", "--to", "2026-10-01"],
            ["usage", "org_0001", "--from", "October"],
            ["show", "organization", "org_0001", "--format", "xml"],
            ["rebuild", "--projection", "nope"],
            ["stats", "--top=-1"],
        ])
    func badInput(arguments: [String]) throws {
        let run = try TallyProcess.run(arguments + ["--data", Self.data])
        #expect(run.status != 0, "\(arguments)")
        // ArgumentParser follows its one-line error with the option's help and the usage.
        let lines = run.stderr.split(separator: "\n").filter {
            !$0.hasPrefix("Usage:") && !$0.hasPrefix("  See ") && !$0.hasPrefix("Help:") && !$0.isEmpty
        }
        #expect(lines.count == 1, "\(arguments): \(run.stderr)")
        #expect(!run.stderr.contains("Fatal error"))
    }

    @Test("a missing data directory is named, and nothing is created there")
    func missingDirectory() throws {
        let path = TallyProcess.temporaryPath()
        for command in [
            ["show", "organization", "org_1"], ["quota", "org_1"], ["usage", "org_1"], ["rebuild"], ["stats"],
        ] {
            let run = try TallyProcess.run(command + ["--data", path])
            #expect(run.status == 2, "\(command)")
            #expect(run.stderr.contains("no Tally log in \(path)"), "\(command): \(run.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test(
        "every query and maintenance command explains itself with an example",
        arguments: [
            ["show", "organization"], ["show", "subscription"], ["quota"], ["usage"], ["invoices"], ["invoice"],
            ["payments"], ["revenue"], ["rebuild"], ["stats"], ["export"], ["restore"], ["append"],
            ["import", "usage"], ["demo"], ["verify"],
        ])
    func help(command: [String]) throws {
        let run = try TallyProcess.run(command + ["--help"])
        #expect(run.status == 0)
        #expect(run.stdout.contains("Example:") && run.stdout.contains("--data"), "\(command)")
    }
}
