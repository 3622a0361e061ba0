import Foundation
import SwiftProtobuf
import TallyTestSupport
import Testing

@testable import BillingEvents

/// The fast `usage.recorded` decoder must agree with SwiftProtobuf on every input: equal
/// messages when it decodes, and `init(payload:)` the same verdict as SwiftProtobuf always.
@Suite("usage.recorded decoding")
struct UsageRecordedDecodingTests {
    static func randomUsage(_ random: inout SeededGenerator, properties: Bool) -> Tally_V1_UsageRecorded {
        func text(_ random: inout SeededGenerator) -> String {
            let alphabet = Array("abc_019XYZé€😀 ")
            return String(
                (0..<Int.random(in: 0...16, using: &random)).map { _ in alphabet.randomElement(using: &random)! })
        }
        var usage = Tally_V1_UsageRecorded()
        usage.metric = text(&random)
        if Bool.random(using: &random) {
            usage.quantity =
                Int64.random(in: Int64.min...Int64.max, using: &random) >> Int64.random(in: 0...63, using: &random)
        }
        usage.userID = text(&random)
        usage.resourceID = text(&random)
        if properties, Bool.random(using: &random) { usage.properties = [text(&random): text(&random)] }
        if Bool.random(using: &random) {
            usage.periodStart = Google_Protobuf_Timestamp(
                seconds: Int64.random(in: -10_000_000_000...10_000_000_000, using: &random),
                nanos: Int32.random(in: -5...999_999_999, using: &random))
        }
        usage.aggregation = Tally_V1_Aggregation(rawValue: Int.random(in: 0...7, using: &random)) ?? .sum
        usage.uniqueProperty = text(&random)
        return usage
    }

    static func verdicts(_ bytes: [UInt8]) -> (generic: Tally_V1_UsageRecorded?, tally: Tally_V1_UsageRecorded?) {
        (try? Tally_V1_UsageRecorded(serializedBytes: bytes), try? Tally_V1_UsageRecorded(payload: Data(bytes)))
    }

    @Test("well-formed payloads without properties take the fast path and equal SwiftProtobuf's")
    func wellFormed() throws {
        let seed = TestEnvironment.seed()
        var random = SeededGenerator(seed: seed)
        for _ in 0..<TestEnvironment.iterations(default: 2000) {
            let usage = Self.randomUsage(&random, properties: false)
            let bytes: [UInt8] = try usage.serializedBytes()
            #expect(bytes.withUnsafeBytes { UsageRecordedFastDecoder.decode($0) } == usage, "seed \(seed)")
            #expect(try Tally_V1_UsageRecorded(payload: Data(bytes)) == usage, "seed \(seed)")
        }
    }

    @Test("the fast encoder writes exactly SwiftProtobuf's deterministic bytes, with properties or without")
    func encoding() throws {
        let seed = TestEnvironment.seed()
        var random = SeededGenerator(seed: seed)
        for _ in 0..<TestEnvironment.iterations(default: 2000) {
            var usage = Self.randomUsage(&random, properties: true)
            if Int.random(in: 0..<8, using: &random) == 0 { usage.properties = ["b": "2", "a": "1", "c": "3"] }
            #expect(try usage.deterministicPayload() == usage.deterministicData(), "seed \(seed)")
        }
    }

    @Test("properties, mutations, truncations, repeats and unknown fields: the same verdict as SwiftProtobuf")
    func malformed() throws {
        let seed = TestEnvironment.seed()
        var random = SeededGenerator(seed: seed)
        for _ in 0..<TestEnvironment.iterations(default: 3000) {
            var bytes: [UInt8] = try Self.randomUsage(&random, properties: true).serializedBytes()
            switch Int.random(in: 0..<5, using: &random) {
            case 0 where !bytes.isEmpty:
                bytes[Int.random(in: 0..<bytes.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
            case 1 where !bytes.isEmpty:
                bytes.removeLast(Int.random(in: 1...bytes.count, using: &random))
            case 2:
                bytes += [UInt8.random(in: 1...20, using: &random) << 3 | 2, 3, 0x61, 0x62, 0x63]
            case 3:
                bytes += [0x10, UInt8.random(in: 0...0x7F, using: &random)]  // quantity again: the last one wins
            default:
                bytes += (0..<Int.random(in: 1...6, using: &random)).map { _ in
                    UInt8.random(in: 0...255, using: &random)
                }
            }
            let (generic, tally) = Self.verdicts(bytes)
            #expect(generic == tally, "seed \(seed), bytes \(bytes)")
        }
    }

    /// The view agrees field by field with the full decoder whenever it takes a payload, and
    /// takes every well-formed payload without properties (what the engine writes).
    static func viewAgrees(_ bytes: [UInt8], seed: UInt64) -> Bool? {
        bytes.withUnsafeBytes { raw -> Bool? in
            guard let view = UsageRecordedView(payload: raw) else { return nil }
            guard let usage = try? Tally_V1_UsageRecorded(payload: Data(bytes)) else {
                Issue.record("seed \(seed): the view took \(bytes), which does not decode")
                return false
            }
            let text = { (slice: UnsafeRawBufferPointer) in String(decoding: slice, as: UTF8.self) }
            #expect(
                text(view.metric) == usage.metric && text(view.userID) == usage.userID
                    && text(view.resourceID) == usage.resourceID, "seed \(seed)")
            #expect(text(view.uniqueProperty) == usage.uniqueProperty && usage.properties.isEmpty, "seed \(seed)")
            #expect(
                view.quantity == usage.quantity && view.periodStartSeconds == usage.periodStart.seconds
                    && view.aggregation == usage.aggregation, "seed \(seed)")
            return true
        }
    }

    @Test("the in-place view reads what the decoder reads, and declines what it would not decode the same way")
    func inPlaceView() throws {
        let seed = TestEnvironment.seed()
        var random = SeededGenerator(seed: seed)
        for _ in 0..<TestEnvironment.iterations(default: 2000) {
            let usage = Self.randomUsage(&random, properties: false)
            #expect(Self.viewAgrees(try usage.serializedBytes(), seed: seed) == true, "seed \(seed): \(usage)")
            var withProperties = usage
            withProperties.properties = ["region": "eu"]
            #expect(Self.viewAgrees(try withProperties.serializedBytes(), seed: seed) == nil, "seed \(seed)")
            var bytes: [UInt8] = try Self.randomUsage(&random, properties: true).serializedBytes()
            if !bytes.isEmpty {
                bytes[Int.random(in: 0..<bytes.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
            }
            _ = Self.viewAgrees(bytes, seed: seed)
        }
    }

    @Test("varint edges and invalid text: the same verdict as SwiftProtobuf")
    func edges() {
        let cases: [[UInt8]] = [
            [0x10] + [UInt8](repeating: 0xFF, count: 9) + [0x01],  // quantity -1
            [0x10] + [UInt8](repeating: 0xFF, count: 9) + [0x7F],  // bits beyond 64
            [0x10] + [UInt8](repeating: 0xFF, count: 10) + [0x01],  // 11 bytes
            [0x38] + [UInt8](repeating: 0xFF, count: 9) + [0x01],  // aggregation -1
            [0x38, 0x63],  // an aggregation this version does not know
            [0x32, 0x02, 0x10] + [0xFF],  // truncated nanos
            [0x0A, 0x02, 0xC3, 0x28],  // invalid UTF-8 in metric
            [0x00],  // field number 0
        ]
        for bytes in cases {
            let (generic, tally) = Self.verdicts(bytes)
            #expect(generic == tally, "bytes \(bytes)")
        }
    }
}
