package import Foundation
package import SwiftProtobuf

/// Appends protobuf wire-format fields to a byte array: just what the envelope needs, so the
/// hot append path allocates one array instead of building and serializing message structs.
/// Proto3 rules apply: scalar fields equal to their default are not written.
/// `EnvelopeSplicingTests` checks the output against SwiftProtobuf's.
package struct ProtobufWriter {
    package var bytes: [UInt8] = []

    @inlinable package init(capacity: Int) {
        bytes.reserveCapacity(capacity)
    }

    @inlinable package mutating func varint(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
    }

    /// A varint field (wire type 0), omitted when zero.
    @inlinable package mutating func varintField(_ field: UInt64, _ value: UInt64) {
        guard value != 0 else { return }
        varint(field << 3)
        varint(value)
    }

    /// A length-delimited field (wire type 2) holding `count` bytes written by `body`.
    private mutating func lengthDelimited(_ field: UInt64, count: Int, _ body: (inout [UInt8]) -> Void) {
        varint(field << 3 | 2)
        varint(UInt64(count))
        body(&bytes)
    }

    /// A string field, omitted when empty.
    @inlinable package mutating func stringField(_ field: UInt64, _ text: String) {
        guard !text.isEmpty else { return }
        var text = text
        text.withUTF8 { utf8 in
            lengthDelimited(field, count: utf8.count) { $0.append(contentsOf: utf8) }
        }
    }

    /// A bytes field, omitted when empty.
    @inlinable package mutating func bytesField(_ field: UInt64, _ data: Data) {
        guard !data.isEmpty else { return }
        lengthDelimited(field, count: data.count) { $0.append(contentsOf: data) }
    }

    /// A google.protobuf.Timestamp field, always written (a set message field is present
    /// even when empty).
    @inlinable package mutating func timestampField(_ field: UInt64, _ timestamp: Google_Protobuf_Timestamp) {
        var body = ProtobufWriter(capacity: 16)
        body.varintField(1, UInt64(bitPattern: timestamp.seconds))
        body.varintField(2, UInt64(bitPattern: Int64(timestamp.nanos)))
        lengthDelimited(field, count: body.bytes.count) { $0.append(contentsOf: body.bytes) }
    }
}
