import Foundation
package import SwiftProtobuf

/// Reads protobuf's wire format field by field, for the hand-written fast decoders (of the
/// envelope here, of usage payloads in BillingEvents). Every method returns nil where the
/// input is not what the fast path expects; the caller then decodes with SwiftProtobuf.
///
/// The readers are inlinable: rebuilds parse every envelope and usage payload through them (the
/// usage view from another module), and a call per varint was a tenth of a rebuild.
package struct ProtobufWireReader {
    package let bytes: UnsafeRawBufferPointer
    @usableFromInline var offset = 0

    /// How many bytes have been read.
    package var position: Int { offset }

    @inlinable package init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    @inlinable package var isAtEnd: Bool { offset >= bytes.count }

    /// A base-128 varint of at most 64 bits.
    @inlinable package mutating func varint() -> UInt64? {
        // Tags and short lengths, most of what is read, take one byte.
        if offset < bytes.count, bytes[offset] < 0x80 {
            offset += 1
            return UInt64(bytes[offset - 1])
        }
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while offset < bytes.count && shift < 64 {
            let byte = bytes[offset]
            offset += 1
            result |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
        }
        return nil
    }

    /// A length-delimited field's body, as a slice of `bytes`.
    @inlinable package mutating func lengthDelimited() -> UnsafeRawBufferPointer? {
        guard let length = varint(), length <= UInt64(bytes.count - offset) else { return nil }
        let start = offset
        offset += Int(length)
        return UnsafeRawBufferPointer(rebasing: bytes[start..<offset])
    }

    /// A string field's text; nil for invalid UTF-8. ASCII, the common case, skips validation.
    package static func string(_ slice: UnsafeRawBufferPointer) -> String? {
        if isASCII(slice) { return String(decoding: slice, as: UTF8.self) }
        return String(validating: slice, as: UTF8.self)
    }

    @inlinable package static func isValidUTF8(_ slice: UnsafeRawBufferPointer) -> Bool {
        isASCII(slice) || String(validating: slice, as: UTF8.self) != nil
    }

    @inlinable package static func isASCII(_ slice: UnsafeRawBufferPointer) -> Bool {
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
    package static func timestamp(_ slice: UnsafeRawBufferPointer) -> Google_Protobuf_Timestamp? {
        timestampParts(slice).map { Google_Protobuf_Timestamp(seconds: $0.seconds, nanos: $0.nanos) }
    }

    /// The same body's two numbers, without building a message: what in-place reads need.
    @inlinable package static func timestampParts(_ slice: UnsafeRawBufferPointer) -> (seconds: Int64, nanos: Int32)? {
        var reader = ProtobufWireReader(slice)
        var parts = (seconds: Int64(0), nanos: Int32(0))
        var seen: UInt8 = 0
        while !reader.isAtEnd {
            guard let tag = reader.varint(), tag == 8 || tag == 16, seen & UInt8(tag) == 0, let value = reader.varint()
            else { return nil }
            seen |= UInt8(tag)
            if tag == 8 {
                parts.seconds = Int64(bitPattern: value)
            } else {
                parts.nanos = Int32(truncatingIfNeeded: value)
            }
        }
        return parts
    }
}
