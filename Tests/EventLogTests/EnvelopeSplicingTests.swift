import Foundation
import SwiftProtobuf
import Testing

@testable import EventLog

/// The writer splices commit-time fields around bytes the caller serialized; the result must
/// be exactly SwiftProtobuf's serialization of the whole envelope, or hashes would depend on
/// which code path wrote an event.
@Suite("Envelope splicing")
struct EnvelopeSplicingTests {
    @Test("spliced bytes equal SwiftProtobuf's serialization of the same envelope")
    func splicedEqualsSerialized() throws {
        let seed = TestEnvironment.seed()
        var random = SeededGenerator(seed: seed)
        for _ in 0..<TestEnvironment.iterations(default: 1000) {
            let text = { (random: inout SeededGenerator) in
                String(
                    (0..<Int.random(in: 0...30, using: &random)).map { _ in
                        Array("ab_9é€😀")[Int.random(in: 0..<7, using: &random)]
                    })
            }
            var draft = EventDraft(
                organizationID: "org_\(Int.random(in: 0...999_999, using: &random))", eventType: "test.usage",
                schemaVersion: UInt32.random(in: 1...UInt32.max, using: &random),
                occurredAt: Date(timeIntervalSince1970: Double.random(in: 946_684_800...4_000_000_000, using: &random)),
                payload: Data(
                    (0..<Int.random(in: 1...300, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
                ))
            if Bool.random(using: &random) { draft.idempotencyKey = text(&random) }
            draft.actor = text(&random)
            draft.correlationID = text(&random)
            draft.causationID = text(&random)
            let sequence =
                UInt64.random(in: 1...UInt64.max, using: &random) >> UInt64.random(in: 0...63, using: &random)
            let recordedAt = Date(timeIntervalSince1970: Double.random(in: 946_684_800...4_000_000_000, using: &random))
            let previousHash = EventHash(
                bytes: (0..<32).map { _ in UInt8.random(in: 0...255, using: &random) }.withUnsafeBytes {
                    UnsafeRawBufferPointer($0)
                })!

            let prepared = PreparedEvent(draft)
            let recordedAtField = try EnvelopeSplicing.recordedAtField(recordedAt)
            var spliced = [UInt8](
                repeating: 0,
                count: EnvelopeSplicing.envelopeSize(
                    prepared, sequence: max(sequence, 1), recordedAtField: recordedAtField))
            spliced.withUnsafeMutableBytes {
                EnvelopeSplicing.write(
                    prepared, sequence: max(sequence, 1), recordedAtField: recordedAtField, previousHash: previousHash,
                    into: $0)
            }

            var envelope = Tally_V1_Envelope()
            envelope.sequence = max(sequence, 1)
            envelope.occurredAt = Google_Protobuf_Timestamp(date: draft.occurredAt)
            envelope.recordedAt = Google_Protobuf_Timestamp(date: recordedAt)
            envelope.organizationID = draft.organizationID
            envelope.eventType = draft.eventType
            envelope.schemaVersion = draft.schemaVersion
            envelope.idempotencyKey = draft.idempotencyKey ?? ""
            envelope.actor = draft.actor
            envelope.correlationID = draft.correlationID
            envelope.causationID = draft.causationID
            envelope.payload = draft.payload
            envelope.previousHash = Data(previousHash.bytes)
            #expect(spliced == (try envelope.serializedBytes()), "seed \(seed)")
        }
    }
}
