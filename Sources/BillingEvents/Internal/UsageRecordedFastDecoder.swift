public import Foundation
import EventLog
import SwiftProtobuf

/// Decodes `usage.recorded` payloads as the engine writes them (each field at most once, no
/// properties map, no unknown fields, valid UTF-8) without the generic decoder's per-field
/// dispatch: usage is most of any log, and every usage projection decodes it. Anything else
/// returns nil and the caller decodes with SwiftProtobuf. `UsageRecordedDecodingTests`
/// checks that both agree on random and malformed inputs.
enum UsageRecordedFastDecoder {
    static func decode(_ bytes: UnsafeRawBufferPointer) -> Tally_V1_UsageRecorded? {
        var reader = ProtobufWireReader(bytes)
        var usage = Tally_V1_UsageRecorded()
        var seen: UInt16 = 0
        while !reader.isAtEnd {
            guard let tag = reader.varint(), tag >> 3 >= 1, tag >> 3 <= 8, tag >> 3 != 5 else { return nil }
            let field = Int(tag >> 3)
            guard seen & (1 << field) == 0 else { return nil }
            seen |= 1 << field
            switch field {
            case 2, 7:
                guard tag & 7 == 0, let value = reader.varint() else { return nil }
                if field == 2 {
                    usage.quantity = Int64(bitPattern: value)
                } else {
                    let raw = Int(Int32(truncatingIfNeeded: value))
                    usage.aggregation = Tally_V1_Aggregation(rawValue: raw) ?? .UNRECOGNIZED(raw)
                }
            case 6:
                guard tag & 7 == 2, let slice = reader.lengthDelimited(), let timestamp = ProtobufWireReader.timestamp(slice) else { return nil }
                usage.periodStart = timestamp
            default:
                guard tag & 7 == 2, let slice = reader.lengthDelimited(), let text = ProtobufWireReader.string(slice) else { return nil }
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
