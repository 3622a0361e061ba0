public import Foundation
import EventLog
import SwiftProtobuf

extension Tally_V1_UsageRecorded {
    /// The stored form of this payload, byte for byte what `deterministicData()` makes, written
    /// field by field without SwiftProtobuf's generic visitor: the engine encodes one for every
    /// usage event it records. Payloads with properties or unknown fields take SwiftProtobuf's
    /// path (map entries must be sorted). `UsageRecordedDecodingTests` compares the two.
    public func deterministicPayload() throws -> Data {
        guard properties.isEmpty, unknownFields.data.isEmpty, periodStart.unknownFields.data.isEmpty else { return try deterministicData() }
        var writer = ProtobufWriter(capacity: 48 + metric.utf8.count + userID.utf8.count + resourceID.utf8.count + uniqueProperty.utf8.count)
        writer.stringField(1, metric)
        writer.varintField(2, UInt64(bitPattern: quantity))
        writer.stringField(3, userID)
        writer.stringField(4, resourceID)
        if hasPeriodStart { writer.timestampField(6, periodStart) }
        writer.varintField(7, UInt64(bitPattern: Int64(aggregation.rawValue)))
        writer.stringField(8, uniqueProperty)
        return Data(writer.bytes)
    }
}
