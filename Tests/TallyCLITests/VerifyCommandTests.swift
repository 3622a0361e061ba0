import EventLog
import Foundation
import LMDB
import TallyTestSupport
import Testing

/// Runs the built `tally` binary and checks its output and exit code.
@Suite("tally verify")
struct VerifyCommandTests {
    static func tally(_ arguments: String...) throws -> TallyProcess.Run {
        try TallyProcess.run(arguments)
    }

    static func temporaryPath() -> String {
        TallyProcess.temporaryPath()
    }

    /// A closed log of 50 events and its head.
    static func makeLog() throws -> (String, Checkpoint) {
        let path = temporaryPath()
        let log = try EventLog(
            directory: path, options: EventLogOptions(registry: EventTypeRegistry(["usage.recorded": 1])))
        _ = try log.appendSynchronously(
            contentsOf: (0..<50).map { index in
                EventDraft(
                    organizationID: "org_\(index % 3)", eventType: "usage.recorded",
                    occurredAt: Date(timeIntervalSince1970: 1_760_000_000),
                    idempotencyKey: "k\(index)", payload: Data("quantity=\(index)".utf8))
            })
        return (path, try #require(try log.head()))
    }

    @Test("an intact log: exit 0, and the head's sequence and hash are printed")
    func intact() throws {
        let (path, head) = try Self.makeLog()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let run = try Self.tally("verify", "--data", path)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("head 50 \(head.hash.hex)"))
        #expect(run.stderr.isEmpty)

        let json = try Self.tally("verify", "--data", path, "--format", "json", "--head", head.description)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(object["intact"] as? Bool == true)
        #expect((object["head"] as? [String: Any])?["hash"] as? String == head.hash.hex)
    }

    @Test("a tampered log: exit 1, naming the first bad sequence and the reason")
    func tampered() throws {
        let (path, _) = try Self.makeLog()
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            let environment = try Environment.open(at: path)
            let events = try environment.database(named: "events")
            let key = withUnsafeBytes(of: UInt64(23).bigEndian) { Array($0) }
            try environment.write { txn in
                var record = try #require(try txn.value(forKey: key, in: events))
                record[40] ^= 0xFF
                try txn.put(record, forKey: key, in: events)
            }
        }
        let run = try Self.tally("verify", "--data", path)
        #expect(run.status == 1)
        #expect(run.stdout.contains("event 23: hash mismatch"))
    }

    @Test("a truncated log is caught against the head recorded before")
    func truncated() throws {
        let (path, head) = try Self.makeLog()
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            let environment = try Environment.open(at: path)
            let events = try environment.database(named: "events")
            try environment.write { txn in
                try txn.delete(key: withUnsafeBytes(of: UInt64(50).bigEndian) { Array($0) }, in: events)
            }
        }
        #expect(
            try Self.tally("verify", "--data", path).status == 0,
            "without a recorded head, a shorter chain is still a valid chain")
        let run = try Self.tally("verify", "--data", path, "--head", head.description)
        #expect(run.status == 1)
        #expect(run.stdout.contains("event 50: truncated"))
    }

    @Test("bad input: one line on stderr, non-zero exit, no stack trace")
    func badInput() throws {
        let missing = try Self.tally("verify", "--data", "/nonexistent/tally")
        #expect(missing.status == 2)
        #expect(
            missing.stderr
                == "tally: cannot verify /nonexistent/tally: no Tally log at /nonexistent/tally (no data.mdb there)\n")

        let (path, _) = try Self.makeLog()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let badCheckpoint = try Self.tally("verify", "--data", path, "--from-checkpoint", "12:nothex")
        #expect(badCheckpoint.status == 2)
        #expect(badCheckpoint.stderr.contains("--from-checkpoint must be SEQUENCE:HASH"))
        #expect(badCheckpoint.stderr.split(separator: "\n").count == 1)
    }

    @Test("verify --help explains the command with an example")
    func help() throws {
        let run = try Self.tally("verify", "--help")
        #expect(run.status == 0)
        #expect(run.stdout.contains("Example:"))
        #expect(run.stdout.contains("--data"))
    }
}
