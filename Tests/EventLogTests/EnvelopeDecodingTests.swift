import Foundation
import SwiftProtobuf
import TallySupport
import Testing

@testable import EventLog

/// The fast envelope decoder must agree with SwiftProtobuf on every input: equal envelopes
/// when both succeed, and a decoding failure exactly when SwiftProtobuf fails.
@Suite("Envelope decoding")
struct EnvelopeDecodingTests {
    static func randomEnvelope(_ random: inout SeededGenerator) -> Tally_V1_Envelope {
        func text(_ random: inout SeededGenerator) -> String {
            let alphabet = Array("abcXYZ019_-:é€😀 ")
            return String(
                (0..<Int.random(in: 0...20, using: &random)).map { _ in alphabet.randomElement(using: &random)! })
        }
        var envelope = Tally_V1_Envelope()
        if Bool.random(using: &random) {
            envelope.sequence =
                UInt64.random(in: 0...UInt64.max, using: &random) >> UInt64.random(in: 0...63, using: &random)
        }
        if Bool.random(using: &random) {
            envelope.occurredAt = Google_Protobuf_Timestamp(
                seconds: Int64.random(in: -10_000_000_000...10_000_000_000, using: &random),
                nanos: Int32.random(in: -5...999_999_999, using: &random))
        }
        if Bool.random(using: &random) {
            envelope.recordedAt = Google_Protobuf_Timestamp(
                seconds: Int64.random(in: 0...2_000_000_000, using: &random))
        }
        envelope.organizationID = text(&random)
        envelope.eventType = text(&random)
        envelope.schemaVersion =
            UInt32.random(in: 0...UInt32.max, using: &random) >> UInt32.random(in: 0...31, using: &random)
        envelope.idempotencyKey = text(&random)
        envelope.actor = text(&random)
        envelope.correlationID = text(&random)
        envelope.causationID = text(&random)
        envelope.payload = Data(
            (0..<Int.random(in: 0...40, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) })
        envelope.previousHash = Data(
            (0..<(Bool.random(using: &random) ? 32 : 0)).map { _ in UInt8.random(in: 0...255, using: &random) })
        return envelope
    }

    /// Both decoders on `bytes`: nil for a failure.
    static func decodeBoth(_ bytes: [UInt8]) -> (generic: Tally_V1_Envelope?, tally: Tally_V1_Envelope?) {
        bytes.withUnsafeBytes { buffer in
            (try? EnvelopeCoding.decodeEnvelopeGenerically(buffer), try? EnvelopeCoding.decodeEnvelope(buffer))
        }
    }

    @Test("well-formed envelopes: the fast path decodes them, and equal to SwiftProtobuf")
    func wellFormed() throws {
        let seed = TestEnvironment.seed()
        var random = SeededGenerator(seed: seed)
        for _ in 0..<TestEnvironment.iterations(default: 2000) {
            let envelope = Self.randomEnvelope(&random)
            let bytes: [UInt8] = try envelope.serializedBytes()
            let fast = bytes.withUnsafeBytes { EnvelopeFastDecoder.decode($0) }
            #expect(fast == envelope, "seed \(seed)")
            #expect(Self.decodeBoth(bytes).generic == envelope, "seed \(seed)")
        }
    }

    @Test("mutated, truncated and extended bytes: the same verdict as SwiftProtobuf")
    func malformed() throws {
        let seed = TestEnvironment.seed()
        var random = SeededGenerator(seed: seed)
        for _ in 0..<TestEnvironment.iterations(default: 3000) {
            var bytes: [UInt8] = try Self.randomEnvelope(&random).serializedBytes()
            switch Int.random(in: 0..<4, using: &random) {
            case 0 where !bytes.isEmpty:
                bytes[Int.random(in: 0..<bytes.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
            case 1 where !bytes.isEmpty:
                bytes.removeLast(Int.random(in: 1...bytes.count, using: &random))
            case 2:
                // An unknown field (number 13 to 40), or a known one again.
                let field = UInt8.random(in: 1...40, using: &random)
                bytes += [field << 3 | 2, 3, 0x61, 0x62, 0x63]
            default:
                bytes += (0..<Int.random(in: 1...6, using: &random)).map { _ in
                    UInt8.random(in: 0...255, using: &random)
                }
            }
            let (generic, tally) = Self.decodeBoth(bytes)
            #expect(generic == tally, "seed \(seed), bytes \(bytes)")
            // The in-place view (verification's and the rebuild's allocation-free walk): when it
            // accepts, SwiftProtobuf must decode the same sequence and previous hash.
            let checked = bytes.withUnsafeBytes { buffer in
                EventRecordView(envelope: buffer).map { ($0.sequence, Data($0.previousHash)) }
            }
            if let checked {
                #expect(
                    generic?.sequence == checked.0 && generic?.previousHash == checked.1, "seed \(seed), bytes \(bytes)"
                )
            }
        }
    }

    @Test(
        "routing from the first fields: wherever it answers, the full view or SwiftProtobuf read the same sequence and type; it answers for what the log writes"
    )
    func routing() throws {
        let seed = TestEnvironment.seed()
        var random = SeededGenerator(seed: seed)
        let hash = [UInt8](repeating: 0xAB, count: EnvelopeCoding.hashLength)
        var answered = 0
        for round in 0..<TestEnvironment.iterations(default: 3000) {
            var envelope = Self.randomEnvelope(&random)
            if round % 2 == 0 {
                // As the log writes them: every field through 5 present.
                envelope.sequence = UInt64.random(in: 1...UInt64(1) << 40, using: &random)
                envelope.occurredAt = Google_Protobuf_Timestamp(
                    seconds: Int64.random(in: 0...2_000_000_000, using: &random))
                envelope.recordedAt = Google_Protobuf_Timestamp(
                    seconds: Int64.random(in: 0...2_000_000_000, using: &random))
                envelope.organizationID = "org_\(round)"
                envelope.eventType = "usage.recorded"
            }
            var bytes: [UInt8] = try envelope.serializedBytes()
            if round % 4 == 1, !bytes.isEmpty {
                bytes[Int.random(in: 0..<bytes.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
            }
            let record = hash + bytes
            let routed = record.withUnsafeBytes {
                EventRecordView.routing(record: $0).map { ($0.sequence, Array($0.eventType)) }
            }
            if round % 4 == 0 { #expect(routed != nil, "seed \(seed): the log's own layout must route") }
            guard let routed else { continue }
            answered += 1
            // Where the strict view accepts (no field twice, valid text), all three agree. (A
            // field repeated later, which SwiftProtobuf takes the last of, is no layout the log
            // writes: routing only ever sees records the writer just spliced.)
            if let view = record.withUnsafeBytes({ EventRecordView(record: $0) }) {
                #expect(view.sequence == routed.0 && Array(view.eventType) == routed.1, "seed \(seed), bytes \(bytes)")
                let decoded = Self.decodeBoth(bytes).generic
                #expect(
                    decoded?.sequence == routed.0 && decoded.map { Array($0.eventType.utf8) } == routed.1,
                    "seed \(seed), bytes \(bytes)")
            }
        }
        #expect(answered > 0)
    }

    @Test("varints of every length, at the end of the bytes or before more: read as written; cut short, not at all")
    func varintLengths() {
        var random = SeededGenerator(seed: 7)
        for bits in 0...64 {
            for _ in 0..<20 {
                let value =
                    bits == 0
                    ? 0 : UInt64.random(in: 0...UInt64.max, using: &random) >> UInt64(64 - bits) | 1 << UInt64(bits - 1)
                var encoded: [UInt8] = []
                var rest = value
                repeat {
                    encoded.append(UInt8(rest & 0x7F) | (rest >= 0x80 ? 0x80 : 0))
                    rest >>= 7
                } while rest != 0
                for trailing in [0, 3, 9] {
                    let bytes = encoded + (0..<trailing).map { _ in UInt8.random(in: 0...255, using: &random) }
                    bytes.withUnsafeBytes { buffer in
                        var reader = ProtobufWireReader(buffer)
                        #expect(reader.varint() == value, "value \(value), trailing \(trailing)")
                        #expect(reader.position == encoded.count)
                    }
                }
                // Cut short: no value, whichever path reads it.
                if encoded.count > 1 {
                    let cut = Array(encoded.dropLast()) + [UInt8](repeating: 0x80, count: 9)
                    cut.withUnsafeBytes { buffer in
                        var reader = ProtobufWireReader(
                            UnsafeRawBufferPointer(rebasing: buffer[..<(encoded.count - 1)]))
                        #expect(reader.varint() == nil, "value \(value) cut short")
                    }
                }
            }
        }
    }

    @Test(
        "any bytes, any number of them: the varint read is the one a plain byte-by-byte reader finds, and none where that finds none"
    )
    func varintAnyBytes() {
        let seed = TestEnvironment.seed()
        var random = SeededGenerator(seed: seed)
        /// The plain reader: byte by byte, up to 64 bits' worth of groups.
        func reference(_ bytes: [UInt8]) -> (UInt64, Int)? {
            var result: UInt64 = 0
            for (index, byte) in bytes.prefix(10).enumerated() {
                result |= UInt64(byte & 0x7F) << UInt64(7 * index)
                if byte & 0x80 == 0 { return (result, index + 1) }
            }
            return nil
        }
        for _ in 0..<TestEnvironment.iterations(default: 20_000) {
            // Mostly continuation bytes, so that every length up to 10 and every cut comes up.
            let bytes = (0..<Int.random(in: 1...12, using: &random)).map { _ in
                UInt8.random(in: 0...0x7F, using: &random) | (Int.random(in: 0...5, using: &random) == 0 ? 0 : 0x80)
            }
            bytes.withUnsafeBytes { buffer in
                var reader = ProtobufWireReader(buffer)
                let read = reader.varint()
                let expected = reference(bytes)
                #expect(read == expected?.0, "seed \(seed), bytes \(bytes)")
                if let expected { #expect(reader.position == expected.1, "seed \(seed), bytes \(bytes)") }
            }
        }
    }

    @Test("over-long and overflowing varints: the same verdict as SwiftProtobuf")
    func varintEdges() {
        let cases: [[UInt8]] = [
            [0x08] + [UInt8](repeating: 0xFF, count: 9) + [0x01],  // exactly 2^64 - 1
            [0x08] + [UInt8](repeating: 0xFF, count: 9) + [0x7F],  // bits beyond 64
            [0x08] + [UInt8](repeating: 0xFF, count: 10) + [0x01],  // 11 bytes
            [0x08] + [UInt8](repeating: 0x80, count: 9) + [0x00],  // zero, padded
            [0x30] + [UInt8](repeating: 0xFF, count: 9) + [0x01],  // schema_version beyond UInt32
            [0x12, 0x02, 0x10] + [0xFF],  // truncated nanos inside a timestamp
            [0x12, 0x0B, 0x08] + [UInt8](repeating: 0xFF, count: 9) + [0x01],  // seconds of 2^64 - 1
            [0x22, 0x02, 0xC3, 0x28],  // invalid UTF-8 in organization_id
            [0x00],  // field number 0
        ]
        for bytes in cases {
            let (generic, tally) = Self.decodeBoth(bytes)
            #expect(generic == tally, "bytes \(bytes)")
        }
    }
}
