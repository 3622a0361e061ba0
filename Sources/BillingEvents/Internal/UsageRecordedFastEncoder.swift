import EventLog
public import Foundation
public import SwiftProtobuf
import TallySupport

extension Tally_V1_UsageRecorded {
    /// The stored form of this payload, byte for byte what `deterministicData()` makes, written
    /// field by field without SwiftProtobuf's generic visitor: the engine encodes one for every
    /// usage event it records. Payloads with properties or unknown fields take SwiftProtobuf's
    /// path (map entries must be sorted). `UsageRecordedDecodingTests` compares the two.
    public func deterministicPayload() throws -> Data {
        guard properties.isEmpty, unknownFields.data.isEmpty, periodStart.unknownFields.data.isEmpty else {
            return try deterministicData()
        }
        return Self.payload(
            metric: metric, quantity: quantity, userID: userID, resourceID: resourceID,
            periodStart: hasPeriodStart ? periodStart : nil,
            aggregation: aggregation, uniqueProperty: uniqueProperty)
    }

    /// The stored form of a payload without properties, from its fields, without building the
    /// message: its exact size first, then one buffer written in place.
    public static func payload(
        metric: String, quantity: Int64, userID: String, resourceID: String, periodStart: Google_Protobuf_Timestamp?,
        aggregation: Tally_V1_Aggregation, uniqueProperty: String
    ) -> Data {
        typealias Writer = InPlaceProtobufWriter
        let aggregationValue = UInt64(bitPattern: Int64(aggregation.rawValue))
        let timestampBody = periodStart.map {
            Writer.size(ofVarintField: UInt64(bitPattern: $0.seconds))
                + Writer.size(ofVarintField: UInt64(bitPattern: Int64($0.nanos)))
        }
        let size =
            Writer.size(ofStringField: metric) + Writer.size(ofVarintField: UInt64(bitPattern: quantity))
            + Writer.size(ofStringField: userID)
            + Writer.size(ofStringField: resourceID)
            + (timestampBody.map { 1 + Writer.size(ofVarint: UInt64($0)) + $0 } ?? 0)
            + Writer.size(ofVarintField: aggregationValue) + Writer.size(ofStringField: uniqueProperty)
        var data = Data(count: size)
        data.withUnsafeMutableBytes { buffer in
            var writer = Writer(buffer)
            writer.stringField(1, metric)
            writer.varintField(2, UInt64(bitPattern: quantity))
            writer.stringField(3, userID)
            writer.stringField(4, resourceID)
            if let periodStart, let timestampBody {
                writer.put(varint: 6 << 3 | 2)
                writer.put(varint: UInt64(timestampBody))
                writer.varintField(1, UInt64(bitPattern: periodStart.seconds))
                writer.varintField(2, UInt64(bitPattern: Int64(periodStart.nanos)))
            }
            writer.varintField(7, aggregationValue)
            writer.stringField(8, uniqueProperty)
            precondition(writer.count == buffer.count, "the payload's size was reckoned wrong")
        }
        return data
    }
}
