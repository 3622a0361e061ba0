import Foundation
import TallyTestSupport
import Testing

/// `tally append` and `tally import usage`, run as a service or an operator runs them.
@Suite("tally append and import usage")
struct AppendImportTests {
    static let setup = """
        {"initializeDefaultPlans": {}, "at": "2026-10-01T00:00:00Z"}
        {"registerOrganization": {"id": "org_42", "name": "Acme", "billingEmail": "ap@acme.test", "country": "DE", "currency": "USD"}, "at": "2026-10-01T00:00:00Z"}
        {"subscribe": {"organizationId": "org_42", "planId": "free", "interval": {"kind": "BILLING_INTERVAL_MONTHLY"}}, "at": "2026-10-01T00:00:00Z"}
        """

    static func file(_ text: String, _ suffix: String) throws -> String {
        let path = TallyProcess.temporaryPath() + suffix
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test("append: commands applied in order, retries ignored, bad lines reported by number while the good ones go in")
    func append() throws {
        let data = TallyProcess.temporaryPath()
        let commands =
            Self.setup + """

                {"recordUsage": {"organizationId": "org_42", "metric": "api_calls", "quantity": "120", "occurredAt": "2026-10-01T09:30:00Z", "idempotencyKey": "req-7"}}
                {"recordUsage": {"organizationId": "org_42", "metric": "api_calls", "quantity": "120", "occurredAt": "2026-10-01T09:30:00Z", "idempotencyKey": "req-7"}}
                {"recordUsage": {"organizationId": "org_42", "metric": "api_calls", "quantity": "-5", "occurredAt": "2026-10-01T09:30:00Z"}}
                {"recordUsage": {"organizationId": "org_42", "metric": "api_calls", "quantity": "12"
                {"subscribe": {"organizationId": "org_nobody", "planId": "free", "interval": {"kind": "BILLING_INTERVAL_MONTHLY"}}}
                {"recordUsage": {"organizationId": "org_42", "metric": "api_calls", "quantity": "30", "occurredAt": "2026-10-02T09:30:00Z", "idempotencyKey": "req-8"}}
                """
        let run = try TallyProcess.run(["append", try Self.file(commands, ".jsonl"), "--data", data])
        #expect(run.status == 1)
        #expect(run.stdout.contains("5 applied, 1 duplicates ignored, 3 failed"), "\(run.stdout)")
        let errors = run.stderr.split(separator: "\n")
        #expect(errors.count == 3)
        #expect(errors.first?.contains(":6: record_usage: quantity") == true, "\(run.stderr)")
        #expect(errors.dropFirst().first?.contains(":7: not a command") == true)
        #expect(errors.last?.contains(":8:") == true && errors.last?.contains("org_nobody") == true)
        let quota = try TallyProcess.run([
            "quota", "org_42", "api_calls", "--as-of", "2026-10-15", "--format", "csv", "--data", data,
        ])
        #expect(quota.stdout.contains(",150,"), "\(quota.stdout)")
        // The same file again: every command that went in is recognized or refused, nothing doubles.
        let again = try TallyProcess.run(["append", try Self.file(commands, ".jsonl"), "--data", data])
        #expect(again.status == 1)
        let after = try TallyProcess.run([
            "quota", "org_42", "api_calls", "--as-of", "2026-10-15", "--format", "csv", "--data", data,
        ])
        #expect(after.stdout == quota.stdout)
    }

    @Test(
        "append applyDiscount: the subscription shows it; a bad one is refused naming the field; a re-sent one appends nothing"
    )
    func applyDiscount() throws {
        let data = TallyProcess.temporaryPath()
        let commands =
            Self.setup + """

                {"applyDiscount": {"organizationId": "org_42", "discountId": "WELCOME20", "percentOff": "20", "periods": 3}}
                {"applyDiscount": {"organizationId": "org_42", "discountId": "ZERO", "percentOff": "0", "periods": 1}}
                {"applyDiscount": {"organizationId": "org_42", "discountId": "BOTH", "percentOff": "5", "amountOff": {"minorUnits": "100", "currency": "EUR"}}}
                {"applyDiscount": {"organizationId": "org_42", "discountId": "WELCOME20", "percentOff": "20", "periods": 3}}
                """
        let run = try TallyProcess.run(["append", try Self.file(commands, ".jsonl"), "--data", data])
        #expect(run.status == 1)
        let errors = run.stderr.split(separator: "\n")
        #expect(errors.count == 2, "\(run.stderr)")
        #expect(
            errors.first?.contains("percent_off") == true && errors.first?.contains("greater than 0") == true,
            "\(run.stderr)")
        #expect(errors.last?.contains("exactly one of percent_off and amount_off") == true, "\(run.stderr)")
        #expect(run.stdout.contains("5 applied, 0 duplicates ignored, 2 failed"), "\(run.stdout)")
        // The re-sent line was carried out idempotently: one discount event in the log.
        let stats = try TallyProcess.run(["stats", "--format", "json", "--data", data])
        let byType = try #require(
            (try JSONSerialization.jsonObject(with: Data(stats.stdout.utf8)) as? [String: Any])?["by_type"]
                as? [String: Any])
        #expect(byType["subscription.discount_applied"] as? Int == 1)
        let shown = try TallyProcess.run(["show", "subscription", "org_42", "--format", "json", "--data", data])
        let subscription = try #require(
            try JSONSerialization.jsonObject(with: Data(shown.stdout.utf8)) as? [String: Any])
        #expect(subscription["discount_id"] as? String == "WELCOME20")
        #expect(subscription["discount"] as? String == "20% off")
        #expect(subscription["discount_periods_left"] as? Int == 3)
    }

    @Test("import usage: documented columns in any order, quoting, retries skipped, bad rows named by line")
    func importUsage() throws {
        let data = TallyProcess.temporaryPath()
        _ = try TallyProcess.run(["append", try Self.file(Self.setup, ".jsonl"), "--data", data])
        let csv = """
            metric,organization_id,occurred_at,quantity,user_id,resource_id,idempotency_key
            api_calls,org_42,2026-10-02T10:00:00Z,5,u1,dash_1,k1
            api_calls,org_42,2026-10-02T10:00:00Z,5,u1,dash_1,k1
            api_calls,org_42,2026-10-02T10:00:00Z,x,u1,dash_1,k2
            api_calls,"org_42",2026-10-03T10:00:00Z,7,"u,2",dash_1,k3
            api_calls,org_43,2026-10-03T10:00:00Z,7,u2,dash_1,k4
            api_calls,org_42,yesterday,7,u2,dash_1,k5
            api_calls,org_42,2026-10-03T10:00:00Z
            """
        let run = try TallyProcess.run(["import", "usage", try Self.file(csv, ".csv"), "--data", data])
        #expect(run.status == 1)
        #expect(run.stdout.contains("2 rows imported, 1 duplicates skipped, 4 failed"), "\(run.stdout)")
        for line in [
            ":4: quantity", ":6: not found: subscription of org_43", ":7: occurred_at", ":8: expected 7 fields",
        ] {
            #expect(run.stderr.contains(line), "\(line): \(run.stderr)")
        }
        let users = try TallyProcess.run([
            "usage", "org_42", "--from", "2026-10-01", "--to", "2026-10-05", "--by", "user", "--format", "csv",
            "--data", data,
        ])
        #expect(users.stdout.contains("\"u,2\",7") && users.stdout.contains("u1,5"), "\(users.stdout)")
        let missing = try TallyProcess.run([
            "import", "usage", try Self.file("organization_id,metric\n", ".csv"), "--data", data,
        ])
        #expect(missing.status == 2 && missing.stderr.contains("no quantity column"))
    }

    @Test("two tally append processes at once on one log: every line of both is applied exactly once")
    func twoAtOnce() throws {
        let data = TallyProcess.temporaryPath()
        _ = try TallyProcess.run(["append", try Self.file(Self.setup, ".jsonl"), "--data", data])
        // Two files of 300 usage lines each (2 calls apiece), the second half of each re-sending
        // the other file's first lines: retries across processes must be applied once.
        func lines(_ range: Range<Int>) -> String {
            range.map { index in
                "{\"recordUsage\": {\"organizationId\": \"org_42\", \"metric\": \"api_calls\", \"quantity\": \"2\", \"occurredAt\": \"2026-10-02T10:00:00Z\", \"idempotencyKey\": \"k\(index)\"}}"
            }.joined(separator: "\n")
        }
        let first = try Self.file(lines(0..<300), ".jsonl")
        let second = try Self.file(lines(150..<450), ".jsonl")
        let processes = [first, second].map { file in
            let process = Process()
            process.executableURL = TallyProcess.executable
            process.arguments = ["append", file, "--data", data]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            return process
        }
        for process in processes { try process.run() }
        for process in processes { process.waitUntilExit() }
        #expect(processes.allSatisfy { $0.terminationStatus == 0 })
        let quota = try TallyProcess.run([
            "quota", "org_42", "api_calls", "--as-of", "2026-10-15", "--format", "csv", "--data", data,
        ])
        #expect(quota.stdout.contains(",900,"), "450 distinct requests of 2 calls: \(quota.stdout)")
        #expect(try TallyProcess.run(["verify", "--data", data]).status == 0)
    }
}
