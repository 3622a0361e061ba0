import Foundation
import SwiftProtobuf

/// Decodes the envelope encoding Tally writes (each known field at most once, no unknown
/// fields, valid UTF-8) without the generic decoder's per-field dispatch, about twice as fast.
///
/// Anything else (an unknown field, a repeated field, an unexpected wire type, invalid
/// UTF-8) returns nil, and the caller decodes with SwiftProtobuf, which knows every rule.
/// `EnvelopeDecodingTests` checks both agree on random and malformed inputs.
struct EnvelopeFastDecoder {
    private let bytes: UnsafeRawBufferPointer
    private var position = 0

    static func decode(_ bytes: UnsafeRawBufferPointer) -> Tally_V1_Envelope? {
        var decoder = EnvelopeFastDecoder(bytes: bytes)
        return decoder.decodeEnvelope()
    }

    private init(bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    private mutating func decodeEnvelope() -> Tally_V1_Envelope? {
        var envelope = Tally_V1_Envelope()
        var seen: UInt16 = 0
        while position < bytes.count {
            guard let tag = varint(), tag >> 3 >= 1, tag >> 3 <= 12 else { return nil }
            let field = Int(tag >> 3)
            guard seen & (1 << field) == 0 else { return nil }
            seen |= 1 << field
            let isVarint = tag & 7 == 0
            let isLengthDelimited = tag & 7 == 2
            switch field {
            case 1:
                guard isVarint, let value = varint() else { return nil }
                envelope.sequence = value
            case 6:
                guard isVarint, let value = varint() else { return nil }
                envelope.schemaVersion = UInt32(truncatingIfNeeded: value)
            default:
                guard isLengthDelimited, let slice = lengthDelimited() else { return nil }
                switch field {
                case 2:
                    guard let timestamp = Self.timestamp(slice) else { return nil }
                    envelope.occurredAt = timestamp
                case 3:
                    guard let timestamp = Self.timestamp(slice) else { return nil }
                    envelope.recordedAt = timestamp
                case 11:
                    envelope.payload = Data(slice)
                case 12:
                    envelope.previousHash = Data(slice)
                default:
                    guard let text = Self.string(slice) else { return nil }
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

    /// The fields verification needs, read without allocating: the sequence and the previous
    /// hash (a slice of `bytes`). Also checks that the whole envelope decodes: nil means it is
    /// not in Tally's own encoding, and the caller must decode it generically for a verdict.
    static func sequenceAndPreviousHash(_ bytes: UnsafeRawBufferPointer) -> (sequence: UInt64, previousHash: UnsafeRawBufferPointer)? {
        var decoder = EnvelopeFastDecoder(bytes: bytes)
        var seen: UInt16 = 0
        var sequence: UInt64 = 0
        var previousHash = UnsafeRawBufferPointer(start: nil, count: 0)
        while decoder.position < bytes.count {
            guard let tag = decoder.varint(), tag >> 3 >= 1, tag >> 3 <= 12 else { return nil }
            let field = Int(tag >> 3)
            guard seen & (1 << field) == 0 else { return nil }
            seen |= 1 << field
            if field == 1 || field == 6 {
                guard tag & 7 == 0, let value = decoder.varint() else { return nil }
                if field == 1 { sequence = value }
                continue
            }
            guard tag & 7 == 2, let slice = decoder.lengthDelimited() else { return nil }
            switch field {
            case 2, 3: guard timestamp(slice) != nil else { return nil }
            case 11: break
            case 12: previousHash = slice
            default: guard isValidUTF8(slice) else { return nil }
            }
        }
        return (sequence, previousHash)
    }

    /// A string field's text; nil for invalid UTF-8. ASCII, the common case, skips validation.
    private static func string(_ slice: UnsafeRawBufferPointer) -> String? {
        if isASCII(slice) { return String(decoding: slice, as: UTF8.self) }
        return String(validating: slice, as: UTF8.self)
    }

    private static func isValidUTF8(_ slice: UnsafeRawBufferPointer) -> Bool {
        isASCII(slice) || String(validating: slice, as: UTF8.self) != nil
    }

    private static func isASCII(_ slice: UnsafeRawBufferPointer) -> Bool {
        var index = 0
        while index + 8 <= slice.count {
            if slice.loadUnaligned(fromByteOffset: index, as: UInt64.self) & 0x8080_8080_8080_8080 != 0 { return false }
            index += 8
        }
        while index < slice.count {
            if slice[index] & 0x80 != 0 { return false }
            index += 1
        }
        return true
    }

    /// A google.protobuf.Timestamp body: seconds (1, int64) and nanos (2, int32), each at most once.
    private static func timestamp(_ slice: UnsafeRawBufferPointer) -> Google_Protobuf_Timestamp? {
        var decoder = EnvelopeFastDecoder(bytes: slice)
        var timestamp = Google_Protobuf_Timestamp()
        var seen: UInt8 = 0
        while decoder.position < slice.count {
            guard let tag = decoder.varint(), tag == 8 || tag == 16, seen & UInt8(tag) == 0, let value = decoder.varint() else {
                return nil
            }
            seen |= UInt8(tag)
            if tag == 8 {
                timestamp.seconds = Int64(bitPattern: value)
            } else {
                timestamp.nanos = Int32(truncatingIfNeeded: value)
            }
        }
        return timestamp
    }

    private mutating func varint() -> UInt64? {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while position < bytes.count && shift < 64 {
            let byte = bytes[position]
            position += 1
            result |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
        }
        return nil
    }

    private mutating func lengthDelimited() -> UnsafeRawBufferPointer? {
        guard let length = varint(), length <= UInt64(bytes.count - position) else { return nil }
        let start = position
        position += Int(length)
        return UnsafeRawBufferPointer(rebasing: bytes[start..<position])
    }
}
