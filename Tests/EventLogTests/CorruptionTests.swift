import EventLog
import Foundation
import LMDB
import Testing

/// Tampers with copies of a log through the raw LMDB API, as an attacker with file access
/// could, and checks verification names the right sequence and reason.
@Suite("Corruption is detected")
struct CorruptionTests {
    /// A closed log of `count` events, and its head.
    static func makeLog(in directory: TemporaryDirectory, count: Int = 20) throws -> (path: String, head: Checkpoint) {
        let path = directory.subdirectory("original")
        let log = try TestLogs.open(path)
        _ = try log.appendSynchronously(contentsOf: (0..<count).map { TestLogs.usage(key: "e\($0)", quantity: $0) })
        return (path, try #require(try log.head()))
    }

    /// Copies the closed log at `path`, lets `tamper` change the copy's `events` database,
    /// and returns the copy's verification.
    static func tampered(
        _ path: String, in directory: TemporaryDirectory, from checkpoint: Checkpoint? = nil,
        recordedHead: Checkpoint? = nil,
        _ tamper: (WriteTransaction, Database) throws -> Void
    ) throws -> VerificationReport {
        let copy = directory.subdirectory("copy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: copy, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: path + "/data.mdb", toPath: copy + "/data.mdb")
        let environment = try Environment.open(at: copy)
        let events = try environment.database(named: "events")
        try environment.write { txn in try tamper(txn, events) }
        return try TestLogs.open(copy).verify(from: checkpoint, recordedHead: recordedHead)
    }

    static func key(_ sequence: UInt64) -> [UInt8] { withUnsafeBytes(of: sequence.bigEndian) { Array($0) } }

    static func record(_ sequence: UInt64, _ txn: WriteTransaction, _ events: Database) throws -> [UInt8] {
        try #require(try txn.value(forKey: key(sequence), in: events))
    }

    @Test("an intact log verifies, and its head is the last event")
    func intact() throws {
        let directory = TemporaryDirectory()
        let (path, head) = try Self.makeLog(in: directory)
        let report = try TestLogs.open(path).verify(recordedHead: head)
        #expect(report.isIntact)
        #expect(report.head == head)
        #expect(report.eventsChecked == 20)
    }

    @Test("one flipped byte in an envelope is a hash mismatch at that event", arguments: [UInt64(1), 7, 20])
    func flippedByte(sequence: UInt64) throws {
        let directory = TemporaryDirectory()
        let (path, _) = try Self.makeLog(in: directory)
        let report = try Self.tampered(path, in: directory) { txn, events in
            var bytes = try Self.record(sequence, txn, events)
            bytes[bytes.count - 40] ^= 0x01  // inside the payload, before the 34 bytes of previous_hash
            try txn.put(bytes, forKey: Self.key(sequence), in: events)
        }
        #expect(report.failure?.sequence == sequence)
        #expect(report.failure?.reason == .hashMismatch)
        #expect(report.eventsChecked == sequence - 1)
    }

    @Test("an altered envelope with a recomputed hash breaks the next event's link")
    func rehashedAlteration() throws {
        let directory = TemporaryDirectory()
        let (path, _) = try Self.makeLog(in: directory)
        let report = try Self.tampered(path, in: directory) { txn, events in
            var bytes = try Self.record(9, txn, events)
            bytes[bytes.count - 40] ^= 0x01  // inside the payload, before the 34 bytes of previous_hash
            let envelope = Array(bytes[32...])
            let hash = try #require(try Self.outsiderSHA256(envelope))
            try txn.put(hash + envelope, forKey: Self.key(9), in: events)
        }
        #expect(report.failure?.sequence == 10)
        #expect(report.failure?.reason == .brokenLink)
    }

    @Test("a removed event is a gap at its sequence")
    func removedEvent() throws {
        let directory = TemporaryDirectory()
        let (path, _) = try Self.makeLog(in: directory)
        let report = try Self.tampered(path, in: directory) { txn, events in
            try txn.delete(key: Self.key(12), in: events)
        }
        #expect(report.failure?.sequence == 12)
        #expect(report.failure?.reason == .gap)
    }

    @Test("bytes that do not decode are reported as undecodable")
    func undecodable() throws {
        let directory = TemporaryDirectory()
        let (path, _) = try Self.makeLog(in: directory)
        let report = try Self.tampered(path, in: directory) { txn, events in
            let garbage: [UInt8] = [0xFF, 0xFF, 0xFF, 0xFF, 0xFF]
            try txn.put(try #require(try Self.outsiderSHA256(garbage)) + garbage, forKey: Self.key(4), in: events)
        }
        #expect(report.failure?.sequence == 4)
        #expect(report.failure?.reason == .undecodable)
    }

    @Test("events removed from the end are noticed against a recorded head")
    func truncation() throws {
        let directory = TemporaryDirectory()
        let (path, head) = try Self.makeLog(in: directory)
        let report = try Self.tampered(path, in: directory, recordedHead: head) { txn, events in
            for sequence in UInt64(18)...20 { try txn.delete(key: Self.key(sequence), in: events) }
        }
        #expect(report.failure?.sequence == 20)
        #expect(report.failure?.reason == .truncated)
        #expect(report.head?.sequence == 17)
    }

    @Test("verification from a trusted checkpoint checks the checkpoint, then the rest")
    func fromCheckpoint() throws {
        let directory = TemporaryDirectory()
        let (path, _) = try Self.makeLog(in: directory)
        let log = try TestLogs.open(path)
        let checkpoint = Checkpoint(sequence: 10, hash: try #require(try log.event(at: 10)).hash)
        let report = try log.verify(from: checkpoint)
        #expect(report.isIntact)
        #expect(report.eventsChecked == 10)

        let wrong = Checkpoint(sequence: 10, hash: try #require(try log.event(at: 11)).hash)
        #expect(try log.verify(from: wrong).failure?.reason == .checkpointMismatch)
        #expect(try log.verify(from: Checkpoint(sequence: 99, hash: .zero)).failure?.sequence == 99)
    }

    /// SHA-256 computed the way an outsider would: not through the log's code.
    static func outsiderSHA256(_ bytes: [UInt8]) throws -> [UInt8]? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["sha256sum"]
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        input.fileHandleForWriting.write(Data(bytes))
        try input.fileHandleForWriting.close()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return EventHash(hex: text.prefix(64))?.bytes
    }
}
