import BillingEvents
import EventLog
import Foundation
import SwiftProtobuf
import TallyTestSupport
import Testing

@testable import TallyCommands

/// The fast export writer must write exactly what SwiftProtobuf's JSON encoder writes, and
/// every line must decode back to the very bytes and hash it came from.
@Suite("Export lines")
struct ExportLineTests {
    static func randomUsageEvent(_ random: inout SeededGenerator) throws -> StoredEvent {
        // One event in five has text the fast path must leave to SwiftProtobuf.
        let tricky = Int.random(in: 0..<5, using: &random) == 0
        func text(_ random: inout SeededGenerator, allowEmpty: Bool = true) -> String {
            let alphabet = tricky ? Array("abc_019XYZé€😀 \"\\/\n\t") : Array("abc_019XYZé€😀 -:.")
            let count = Int.random(in: (allowEmpty ? 0 : 1)...12, using: &random)
            return String((0..<count).map { _ in alphabet.randomElement(using: &random)! })
        }
        func timestamp(_ random: inout SeededGenerator) -> Google_Protobuf_Timestamp {
            let nanos: Int32 = [0, 123_000_000, 123_456_000, 123_456_789, 999_999_999].randomElement(using: &random)!
            return Google_Protobuf_Timestamp(
                seconds: Int64.random(in: (tricky ? -100_000 : 0)...4_000_000_000, using: &random), nanos: nanos)
        }
        var usage = Tally_V1_UsageRecorded()
        usage.metric = text(&random)
        usage.quantity = Int64.random(in: -5...5_000_000_000, using: &random)
        usage.userID = text(&random)
        usage.resourceID = text(&random)
        if Int.random(in: 0..<8, using: &random) == 0 { usage.properties = ["region": text(&random)] }
        if Bool.random(using: &random) { usage.periodStart = timestamp(&random) }
        usage.aggregation = Tally_V1_Aggregation(rawValue: Int.random(in: 0...5, using: &random)) ?? .sum
        usage.uniqueProperty = text(&random)
        var envelope = Tally_V1_Envelope()
        envelope.sequence =
            UInt64.random(in: 1...UInt64.max, using: &random) >> UInt64.random(in: 0...63, using: &random)
        envelope.occurredAt = timestamp(&random)
        envelope.recordedAt = timestamp(&random)
        envelope.organizationID = text(&random, allowEmpty: false)
        envelope.eventType = tricky && Bool.random(using: &random) ? "quota.configured" : "usage.recorded"
        envelope.schemaVersion = UInt32.random(in: 0...3, using: &random)
        envelope.idempotencyKey = text(&random)
        envelope.actor = text(&random)
        envelope.payload = try usage.deterministicData()
        envelope.previousHash = Data((0..<32).map { _ in UInt8.random(in: 0...255, using: &random) })
        let bytes: [UInt8] = try envelope.serializedBytes()
        return StoredEvent(envelope: envelope, hash: EventHash(bytes.withUnsafeBytes { Array($0) }.prefix(32)) ?? .zero)
    }

    @Test("the fast writer and SwiftProtobuf write the same line, byte for byte")
    func fastEqualsGeneric() throws {
        let seed = TestEnvironment.seed()
        var random = SeededGenerator(seed: seed)
        var fast = 0
        for _ in 0..<TestEnvironment.iterations(default: 2_000) {
            let event = try Self.randomUsageEvent(&random)
            var bytes: [UInt8] = []
            if FastExportWriter.append(event, to: &bytes) {
                fast += 1
                #expect(
                    String(decoding: bytes, as: UTF8.self) == (try ExportLine.encodeGenerically(event)), "seed \(seed)")
            }
        }
        #expect(fast > 100, "the fast path should take most plain usage events (seed \(seed))")
    }

    @Test("timestamps are written as the proto3 JSON mapping writes them, across the calendar")
    func timestamps() throws {
        let seed = TestEnvironment.seed()
        var random = SeededGenerator(seed: seed)
        for _ in 0..<TestEnvironment.iterations(default: 5_000) {
            let step: Int32 = [1, 1_000, 1_000_000, 1_000_000_000].randomElement(using: &random)!
            let value = Google_Protobuf_Timestamp(
                seconds: Int64.random(in: 0...253_402_300_799, using: &random),
                nanos: Int32.random(in: 0...(999_999_999 / step), using: &random) * step)
            let expected = try value.jsonString()
            let text = try #require(FastExportWriter.rfc3339(value))
            #expect("\"" + String(decoding: text, as: UTF8.self) + "\"" == expected, "seed \(seed)")
        }
    }

    @Test("every line decodes back to the exact envelope bytes and hash")
    func roundTrip() throws {
        let seed = TestEnvironment.seed()
        var random = SeededGenerator(seed: seed)
        for _ in 0..<TestEnvironment.iterations(default: 500) {
            var event = try Self.randomUsageEvent(&random)
            event.envelope.eventType = "usage.recorded"
            let bytes: [UInt8] = try event.envelope.serializedBytes()
            let hash = bytes.withUnsafeBytes { EventHash.sha256(of: $0) }
            event = StoredEvent(envelope: event.envelope, hash: hash)
            let line = Data(try ExportLine.encode(event).utf8)
            for decoded in [try ExportLine.decode(line), try ExportLine.decodeGenerically(line)] {
                guard case .event(let restored, _) = decoded else {
                    Issue.record("not an event")
                    continue
                }
                #expect(restored.envelope == bytes, "seed \(seed)")
                #expect(restored.hash == hash)
            }
            // The fast reading takes every line the fast writer wrote.
            var written: [UInt8] = []
            if FastExportWriter.append(event, to: &written) {
                #expect(ExportLine.decodeAsWritten(line) != nil, "seed \(seed)")
            }
        }
    }
}
