/// Writes protobuf wire-format varints and fields into memory the caller sized beforehand
/// (`ProtobufWriter` grows an array instead): the usage rollups' compact cells, and usage
/// payloads encoded from their fields. Proto3 rules apply: fields equal to their default are
/// not written. Inlinable: rebuilds write a cell with it for every usage event.
package struct InPlaceProtobufWriter {
    @usableFromInline let buffer: UnsafeMutableRawBufferPointer
    /// How many bytes are written so far.
    package var count: Int { written }
    @usableFromInline var written = 0

    @inlinable
    package init(_ buffer: UnsafeMutableRawBufferPointer) {
        self.buffer = buffer
    }

    /// Base 128, low bits first, at most ten bytes.
    @inlinable
    package mutating func put(varint value: UInt64) {
        var value = value
        while value >= 0x80 {
            buffer[written] = UInt8(truncatingIfNeeded: value) | 0x80
            written += 1
            value >>= 7
        }
        buffer[written] = UInt8(value)
        written += 1
    }

    /// Zigzag, so that small negative numbers take few bytes too.
    @inlinable
    package mutating func put(zigzag value: Int64) {
        put(varint: UInt64(bitPattern: (value << 1) ^ (value >> 63)))
    }

    /// A varint field, omitted when zero.
    @inlinable
    package mutating func varintField(_ field: UInt64, _ value: UInt64) {
        guard value != 0 else { return }
        put(varint: field << 3)
        put(varint: value)
    }

    /// A string field, omitted when empty.
    @inlinable
    package mutating func stringField(_ field: UInt64, _ text: String) {
        var text = text
        text.withUTF8 { utf8 in
            guard !utf8.isEmpty else { return }
            put(varint: field << 3 | 2)
            put(varint: UInt64(utf8.count))
            UnsafeMutableRawBufferPointer(rebasing: buffer[written..<(written + utf8.count)]).copyMemory(
                from: UnsafeRawBufferPointer(utf8))
            written += utf8.count
        }
    }

    // MARK: Sizes, for sizing the buffer first

    /// The bytes `put(varint:)` takes.
    package static func size(ofVarint value: UInt64) -> Int {
        (64 - value.leadingZeroBitCount + 6) / 7 + (value == 0 ? 1 : 0)
    }

    /// The bytes `varintField` takes for a field number below 16.
    package static func size(ofVarintField value: UInt64) -> Int {
        value == 0 ? 0 : 1 + size(ofVarint: value)
    }

    /// The bytes `stringField` takes for a field number below 16.
    package static func size(ofStringField text: String) -> Int {
        let count = text.utf8.count
        return count == 0 ? 0 : 1 + size(ofVarint: UInt64(count)) + count
    }
}
