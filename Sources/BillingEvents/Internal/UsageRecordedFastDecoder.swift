public import Foundation
import SwiftProtobuf

/// Decodes `usage.recorded` payloads as the engine writes them (each field at most once, no
/// properties map, no unknown fields, valid UTF-8) without the generic decoder's per-field
/// dispatch: usage is most of any log, and every usage projection decodes it. Anything else
/// returns nil and the caller decodes with SwiftProtobuf. `UsageRecordedDecodingTests`
/// checks that both agree on random and malformed inputs.
struct UsageRecordedFastDecoder {
    private let bytes: UnsafeRawBufferPointer
    private var position = 0

    static func decode(_ bytes: UnsafeRawBufferPointer) -> Tally_V1_UsageRecorded? {
        var decoder = UsageRecordedFastDecoder(bytes: bytes)
        return decoder.decodeUsage()
    }

    private init(bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    private mutating func decodeUsage() -> Tally_V1_UsageRecorded? {
        var usage = Tally_V1_UsageRecorded()
        var seen: UInt16 = 0
        while position < bytes.count {
            guard let tag = varint(), tag >> 3 >= 1, tag >> 3 <= 8, tag >> 3 != 5 else { return nil }
            let field = Int(tag >> 3)
            guard seen & (1 << field) == 0 else { return nil }
            seen |= 1 << field
            switch field {
            case 2, 7:
                guard tag & 7 == 0, let value = varint() else { return nil }
                if field == 2 {
                    usage.quantity = Int64(bitPattern: value)
                } else {
                    usage.aggregation = Tally_V1_Aggregation(rawValue: Int(Int32(truncatingIfNeeded: value))) ?? .UNRECOGNIZED(Int(Int32(truncatingIfNeeded: value)))
                }
            case 6:
                guard tag & 7 == 2, let slice = lengthDelimited(), let timestamp = Self.timestamp(slice) else { return nil }
                usage.periodStart = timestamp
            default:
                guard tag & 7 == 2, let slice = lengthDelimited(), let text = Self.string(slice) else { return nil }
                switch field {
                case 1: usage.metric = text
                case 3: usage.userID = text
                case 4: usage.resourceID = text
                default: usage.uniqueProperty = text
                }
            }
        }
        return usage
    }

    /// A string field's text; nil for invalid UTF-8. ASCII, the common case, skips validation.
    private static func string(_ slice: UnsafeRawBufferPointer) -> String? {
        if slice.allSatisfy({ $0 < 0x80 }) { return String(decoding: slice, as: UTF8.self) }
        return String(validating: slice, as: UTF8.self)
    }

    /// A google.protobuf.Timestamp body: seconds (1) and nanos (2), each at most once.
    private static func timestamp(_ slice: UnsafeRawBufferPointer) -> Google_Protobuf_Timestamp? {
        var decoder = UsageRecordedFastDecoder(bytes: slice)
        var timestamp = Google_Protobuf_Timestamp()
        var seen: UInt8 = 0
        while decoder.position < slice.count {
            guard let tag = decoder.varint(), tag == 8 || tag == 16, seen & UInt8(tag) == 0, let value = decoder.varint() else { return nil }
            seen |= UInt8(tag)
            if tag == 8 { timestamp.seconds = Int64(bitPattern: value) } else { timestamp.nanos = Int32(truncatingIfNeeded: value) }
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

extension Tally_V1_UsageRecorded {
    /// Decodes a stored `usage.recorded` payload: the fast path for the engine's own
    /// encoding, SwiftProtobuf for anything else (it then also throws for malformed input).
    public init(payload: Data) throws {
        if let fast = payload.withUnsafeBytes({ UsageRecordedFastDecoder.decode($0) }) {
            self = fast
        } else {
            try self.init(serializedBytes: payload)
        }
    }
}
