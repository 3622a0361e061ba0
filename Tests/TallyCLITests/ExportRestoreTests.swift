import Foundation
import TallyTestSupport
import Testing

/// `tally export` and `tally restore`, run as an auditor runs them.
@Suite("tally export and restore")
struct ExportRestoreTests {
    /// A demo of 15 organizations over 3 months, made once for the suite.
    static let data: String = {
        let path = TallyProcess.temporaryPath()
        let run = try! TallyProcess.run([
            "demo", "--data", path, "--organizations", "15", "--months", "3", "--seed", "5",
        ])
        precondition(run.status == 0, run.stderr)
        return path
    }()

    static func export(_ arguments: String...) throws -> (TallyProcess.Run, String) {
        let file = TallyProcess.temporaryPath() + ".out"
        let run = try TallyProcess.run(["export", "--data", data, "--output", file] + arguments)
        return (run, (try? String(contentsOfFile: file, encoding: .utf8)) ?? "")
    }

    @Test("demo, export, restore into a fresh directory: the same head hash, the same answers")
    func roundTrip() throws {
        let (run, text) = try Self.export()
        #expect(run.status == 0, "\(run.stderr)")
        let file = TallyProcess.temporaryPath() + ".jsonl"
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        let restored = TallyProcess.temporaryPath()
        let restore = try TallyProcess.run(["restore", file, "--data", restored])
        #expect(restore.status == 0, "\(restore.stderr)")
        #expect(restore.stdout.contains("matches the manifest"))
        let original = try TallyProcess.run(["verify", "--data", Self.data]).stdout
        let copy = try TallyProcess.run(["verify", "--data", restored]).stdout
        #expect(copy == original && original.contains("head "))
        for query in [
            ["show", "subscription", "org_0003", "--format", "json"],
            ["show", "organization", "org_0007", "--format", "json"],
            ["quota", "org_0003", "--as-of", "2026-10-20", "--format", "json"],
            [
                "usage", "org_0003", "--from", "2026-09-01", "--to", "2026-10-31", "--by", "resource", "--format",
                "json",
            ],
        ] {
            let a = try TallyProcess.run(query + ["--data", Self.data])
            let b = try TallyProcess.run(query + ["--data", restored])
            #expect(a.status == 0 && a.stdout == b.stdout, "\(query)")
        }
        // The manifest agrees with tally verify.
        let manifest = try #require(text.split(separator: "\n").last)
        #expect(original.contains(String(try #require(manifest.split(separator: "\"headHash\":\"").last?.prefix(64)))))
    }

    @Test("every line is an event in the proto3 JSON mapping with its payload decoded, and a manifest ends the file")
    func jsonlShape() throws {
        let (_, text) = try Self.export()
        let lines = text.split(separator: "\n")
        let first = try #require(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
        #expect(first["sequence"] as? String == "1")
        #expect(first["eventType"] as? String == "plan.defined")
        #expect(first["payload"] is [String: Any])
        #expect((first["hash"] as? String)?.count == 64)
        let manifest = try #require(try JSONSerialization.jsonObject(with: Data(lines.last!.utf8)) as? [String: Any])
        let body = try #require(manifest["manifest"] as? [String: Any])
        #expect(body["count"] as? Int == lines.count - 1)
        #expect(body["complete"] as? Bool == true)
    }

    @Test("one organization, a date range and CSV: only what was asked, stable columns, a partial manifest")
    func filtersAndCSV() throws {
        let (_, text) = try Self.export("--organization", "org_0003", "--from", "2026-09-01", "--to", "2026-09-30")
        let lines = text.split(separator: "\n")
        #expect(lines.count > 1)
        for line in lines.dropLast() {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            #expect(object["organizationId"] as? String == "org_0003")
            #expect((object["occurredAt"] as? String ?? "").hasPrefix("2026-09"))
        }
        #expect(lines.last!.contains("\"complete\":false"))
        let (csv, rows) = try Self.export("--format", "csv", "--organization", "org_0003")
        #expect(csv.status == 0)
        #expect(
            rows.hasPrefix(
                "sequence,hash,previous_hash,occurred_at,recorded_at,organization_id,event_type,schema_version,idempotency_key,actor,correlation_id,causation_id,payload\n"
            ))
    }

    @Test("restore refuses a tampered, truncated or partial export, and an occupied directory, leaving nothing behind")
    func restoreRefusals() throws {
        let (_, text) = try Self.export()
        let lines = text.split(separator: "\n").map(String.init)
        let tampered = lines.enumerated().map { index, line in
            index == 40 ? line.replacingOccurrences(of: "\"quantity\":\"", with: "\"quantity\":\"9") : line
        }
        let cases: [(String, [String], String)] = [
            ("tampered", tampered, "cannot be restored"),
            ("truncated", Array(lines.dropLast(3)), "no manifest"),
            ("garbage", [lines[0], "{not json", lines[1]], ":2:"),
        ]
        for (name, content, message) in cases {
            let file = TallyProcess.temporaryPath() + ".jsonl"
            try content.joined(separator: "\n").write(toFile: file, atomically: true, encoding: .utf8)
            let target = TallyProcess.temporaryPath()
            let run = try TallyProcess.run(["restore", file, "--data", target])
            #expect(run.status != 0, "\(name)")
            #expect(run.stderr.contains(message), "\(name): \(run.stderr)")
            #expect(!FileManager.default.fileExists(atPath: target), "\(name) left a directory behind")
        }
        let (_, partial) = try Self.export("--organization", "org_0001")
        let file = TallyProcess.temporaryPath() + ".jsonl"
        try partial.write(toFile: file, atomically: true, encoding: .utf8)
        let run = try TallyProcess.run(["restore", file, "--data", TallyProcess.temporaryPath()])
        #expect(run.status != 0)
        let occupied = try TallyProcess.run(["restore", file, "--data", Self.data])
        #expect(occupied.status == 2 && occupied.stderr.contains("already holds a log"))
    }
}
