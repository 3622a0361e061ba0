import Foundation
import SwiftProtobuf
import TallySupport

/// Decodes the envelope encoding Tally writes (each known field at most once, no unknown
/// fields, valid UTF-8) without the generic decoder's per-field dispatch, about twice as fast.
///
/// Anything else (an unknown field, a repeated field, an unexpected wire type, invalid
/// UTF-8) returns nil, and the caller decodes with SwiftProtobuf, which knows every rule.
/// `EnvelopeDecodingTests` checks both agree on random and malformed inputs.
enum EnvelopeFastDecoder {
    static func decode(_ bytes: UnsafeRawBufferPointer) -> Tally_V1_Envelope? {
        var reader = ProtobufWireReader(bytes)
        var envelope = Tally_V1_Envelope()
        var seen: UInt16 = 0
        while !reader.isAtEnd {
            guard let tag = reader.varint(), tag >> 3 >= 1, tag >> 3 <= 12 else { return nil }
            let field = Int(tag >> 3)
            guard seen & (1 << field) == 0 else { return nil }
            seen |= 1 << field
            let isVarint = tag & 7 == 0
            let isLengthDelimited = tag & 7 == 2
            switch field {
            case 1:
                guard isVarint, let value = reader.varint() else { return nil }
                envelope.sequence = value
            case 6:
                guard isVarint, let value = reader.varint() else { return nil }
                envelope.schemaVersion = UInt32(truncatingIfNeeded: value)
            default:
                guard isLengthDelimited, let slice = reader.lengthDelimited() else { return nil }
                switch field {
                case 2:
                    guard let timestamp = ProtobufWireReader.timestamp(slice) else { return nil }
                    envelope.occurredAt = timestamp
                case 3:
                    guard let timestamp = ProtobufWireReader.timestamp(slice) else { return nil }
                    envelope.recordedAt = timestamp
                case 11:
                    envelope.payload = Data(slice)
                case 12:
                    envelope.previousHash = Data(slice)
                default:
                    guard let text = ProtobufWireReader.string(slice) else { return nil }
                    switch field {
                    case 4: envelope.organizationID = text
                    case 5: envelope.eventType = text
                    case 7: envelope.idempotencyKey = text
                    case 8: envelope.actor = text
                    case 9: envelope.correlationID = text
                    default: envelope.causationID = text
                    }
                }
            }
        }
        return envelope
    }
}
