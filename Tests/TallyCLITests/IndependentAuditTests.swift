import EventLog
import Foundation
import LMDB
import Testing

/// An auditor's verifier written from docs/FORMAT.md alone (Python's lmdb package, protoc,
/// hashlib) must agree with Tally about intact and tampered logs. If this fails, either the
/// format document or the code is wrong.
@Suite("An independent verifier, written from docs/FORMAT.md", .serialized)
struct IndependentAuditTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static func python(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments =
            ["python3", repository.appendingPathComponent("docs/examples/verify_log.py").path] + arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test("it verifies a Tally log, reaches the same head, and names the same tampered event")
    func agreesWithTally() throws {
        let path = VerifyCommandTests.temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let head: Checkpoint
        do {
            var registry = EventTypeRegistry()
            registry.register("usage.recorded")
            registry.register("plan.defined")
            let log = try EventLog(directory: path, options: EventLogOptions(registry: registry))
            for index in 0..<300 {
                _ = try log.appendSynchronously(
                    EventDraft(
                        organizationID: "org_\(index % 4)",
                        eventType: index % 50 == 0 ? "plan.defined" : "usage.recorded",
                        occurredAt: Date(timeIntervalSince1970: 1_760_000_000 + Double(index)),
                        idempotencyKey: index % 3 == 0 ? nil : "k-\(index)",
                        actor: "auditor-test", correlationID: "c-\(index / 10)", payload: Data("quantity=\(index)".utf8)
                    ))
            }
            head = try #require(try log.head())
        }

        let intact = try Self.python([path, "--head", head.description])
        #expect(
            intact.status == 0,
            "python verifier failed (needs: pip install 'lmdb>=1.4' 'protobuf>=4.21,<5', and protoc): \(intact.output)")
        #expect(intact.output.contains("intact 300 300 \(head.hash.hex)"), "\(intact.output)")

        let environment = try Environment.open(at: path)
        let events = try environment.database(named: "events")
        let key = withUnsafeBytes(of: UInt64(150).bigEndian) { Array($0) }
        try environment.write { txn in
            var record = try #require(try txn.value(forKey: key, in: events))
            record[record.count - 40] ^= 0x10
            try txn.put(record, forKey: key, in: events)
        }
        let tampered = try Self.python([path])
        #expect(tampered.status == 1)
        #expect(tampered.output.contains("event 150: hash mismatch"), "\(tampered.output)")
        let tally = try VerifyCommandTests.tally("verify", "--data", path)
        #expect(tally.status == 1)
        #expect(tally.stdout.contains("event 150: hash mismatch"))
    }
}
