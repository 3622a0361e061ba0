import EventLog
public import SwiftProtobuf
import TallySupport

/// A `usage.recorded` payload read in place, for rebuilds that fold usage without building
/// strings (`EventRecordView`). Valid only while the payload's bytes are.
///
/// It takes exactly what the fast path of `Tally_V1_UsageRecorded(payload:)` takes (that path
/// is built on it): a payload with properties, or with a repeated, unknown or malformed field,
/// makes no view, and the caller decodes it in full instead.
public struct UsageRecordedView {
    public let metric: UnsafeRawBufferPointer
    public let userID: UnsafeRawBufferPointer
    public let resourceID: UnsafeRawBufferPointer
    public let uniqueProperty: UnsafeRawBufferPointer
    public let quantity: Int64
    /// The period start's two numbers; nil when the payload has none. Kept as numbers: a
    /// `Google_Protobuf_Timestamp` built and dropped for every event cost a rebuild's quota
    /// fold a tenth of its time.
    private let periodStartParts: (seconds: Int64, nanos: Int32)?
    public var periodStartSeconds: Int64 { periodStartParts?.seconds ?? 0 }
    /// Nil when the payload has none.
    public var periodStart: Google_Protobuf_Timestamp? {
        periodStartParts.map { Google_Protobuf_Timestamp(seconds: $0.seconds, nanos: $0.nanos) }
    }
    public let aggregation: Tally_V1_Aggregation

    public init?(payload: UnsafeRawBufferPointer) {
        var reader = ProtobufWireReader(payload)
        var seen: UInt16 = 0
        let empty = UnsafeRawBufferPointer(start: nil, count: 0)
        var texts = (metric: empty, user: empty, resource: empty, uniqueProperty: empty)
        var quantity: Int64 = 0
        var periodStart: (seconds: Int64, nanos: Int32)?
        var aggregation = Tally_V1_Aggregation.unspecified
        while !reader.isAtEnd {
            guard let tag = reader.varint(), tag >> 3 >= 1, tag >> 3 <= 8, tag >> 3 != 5 else { return nil }
            let field = Int(tag >> 3)
            guard seen & (1 << field) == 0 else { return nil }
            seen |= 1 << field
            switch field {
            case 2, 7:
                guard tag & 7 == 0, let value = reader.varint() else { return nil }
                if field == 2 {
                    quantity = Int64(bitPattern: value)
                } else {
                    let raw = Int(Int32(truncatingIfNeeded: value))
                    aggregation = Tally_V1_Aggregation(rawValue: raw) ?? .UNRECOGNIZED(raw)
                }
            case 6:
                guard tag & 7 == 2, let slice = reader.lengthDelimited(),
                    let timestamp = ProtobufWireReader.timestampParts(slice)
                else { return nil }
                periodStart = timestamp
            default:
                guard tag & 7 == 2, let slice = reader.lengthDelimited(), ProtobufWireReader.isValidUTF8(slice) else {
                    return nil
                }
                switch field {
                case 1: texts.metric = slice
                case 3: texts.user = slice
                case 4: texts.resource = slice
                default: texts.uniqueProperty = slice
                }
            }
        }
        (metric, userID, resourceID, uniqueProperty) = texts
        (self.quantity, periodStartParts, self.aggregation) = (quantity, periodStart, aggregation)
    }
}
