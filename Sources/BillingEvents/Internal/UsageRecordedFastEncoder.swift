public import Foundation
import EventLog
public import SwiftProtobuf

extension Tally_V1_UsageRecorded {
    /// The stored form of this payload, byte for byte what `deterministicData()` makes, written
    /// field by field without SwiftProtobuf's generic visitor: the engine encodes one for every
    /// usage event it records. Payloads with properties or unknown fields take SwiftProtobuf's
    /// path (map entries must be sorted). `UsageRecordedDecodingTests` compares the two.
    public func deterministicPayload() throws -> Data {
        guard properties.isEmpty, unknownFields.data.isEmpty, periodStart.unknownFields.data.isEmpty else { return try deterministicData() }
        return Self.payload(
            metric: metric, quantity: quantity, userID: userID, resourceID: resourceID, periodStart: hasPeriodStart ? periodStart : nil,
            aggregation: aggregation, uniqueProperty: uniqueProperty)
    }

    /// The stored form of a payload without properties, from its fields, without building the
    /// message: its exact size first, then one buffer written in place.
    public static func payload(
        metric: String, quantity: Int64, userID: String, resourceID: String, periodStart: Google_Protobuf_Timestamp?,
        aggregation: Tally_V1_Aggregation, uniqueProperty: String
    ) -> Data {
        let aggregationValue = UInt64(bitPattern: Int64(aggregation.rawValue))
        let timestampBody = periodStart.map {
            WireSize.varintField(UInt64(bitPattern: $0.seconds)) + WireSize.varintField(UInt64(bitPattern: Int64($0.nanos)))
        }
        let size = WireSize.stringField(metric) + WireSize.varintField(UInt64(bitPattern: quantity)) + WireSize.stringField(userID)
            + WireSize.stringField(resourceID) + (timestampBody.map { 1 + WireSize.varint(UInt64($0)) + $0 } ?? 0)
            + WireSize.varintField(aggregationValue) + WireSize.stringField(uniqueProperty)
        var data = Data(count: size)
        data.withUnsafeMutableBytes { buffer in
            var writer = InPlaceWriter(buffer)
            writer.stringField(1, metric)
            writer.varintField(2, UInt64(bitPattern: quantity))
            writer.stringField(3, userID)
            writer.stringField(4, resourceID)
            if let periodStart, let timestampBody {
                writer.varint(6 << 3 | 2)
                writer.varint(UInt64(timestampBody))
                writer.varintField(1, UInt64(bitPattern: periodStart.seconds))
                writer.varintField(2, UInt64(bitPattern: Int64(periodStart.nanos)))
            }
            writer.varintField(7, aggregationValue)
            writer.stringField(8, uniqueProperty)
            precondition(writer.offset == buffer.count, "the payload's size was reckoned wrong")
        }
        return data
    }
}

/// Sizes of protobuf fields as proto3 writes them (defaults omitted).
private enum WireSize {
    static func varint(_ value: UInt64) -> Int {
        (64 - value.leadingZeroBitCount + 6) / 7 + (value == 0 ? 1 : 0)
    }

    /// A varint field of a number below 16, omitted when zero.
    static func varintField(_ value: UInt64) -> Int {
        value == 0 ? 0 : 1 + varint(value)
    }

    /// A string field of a number below 16, omitted when empty.
    static func stringField(_ text: String) -> Int {
        let count = text.utf8.count
        return count == 0 ? 0 : 1 + varint(UInt64(count)) + count
    }
}

/// Writes protobuf fields into a buffer sized for them beforehand.
private struct InPlaceWriter {
    let buffer: UnsafeMutableRawBufferPointer
    private(set) var offset = 0

    init(_ buffer: UnsafeMutableRawBufferPointer) {
        self.buffer = buffer
    }

    mutating func varint(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            buffer[offset] = UInt8(truncatingIfNeeded: value) | 0x80
            offset += 1
            value >>= 7
        }
        buffer[offset] = UInt8(value)
        offset += 1
    }

    mutating func varintField(_ field: UInt64, _ value: UInt64) {
        guard value != 0 else { return }
        varint(field << 3)
        varint(value)
    }

    mutating func stringField(_ field: UInt64, _ text: String) {
        var text = text
        text.withUTF8 { utf8 in
            guard !utf8.isEmpty else { return }
            varint(field << 3 | 2)
            varint(UInt64(utf8.count))
            UnsafeMutableRawBufferPointer(rebasing: buffer[offset..<(offset + utf8.count)]).copyMemory(from: UnsafeRawBufferPointer(utf8))
            offset += utf8.count
        }
    }
}
