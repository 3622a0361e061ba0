/// Writes protobuf-style varints into memory the caller sized: the compact stored form of the
/// usage rollups (`UsageRollup`).
struct VarintWriter {
    private let buffer: UnsafeMutableRawBufferPointer
    /// How many bytes are written so far.
    private(set) var count = 0

    init(_ buffer: UnsafeMutableRawBufferPointer) {
        self.buffer = buffer
    }

    mutating func put(byte: UInt8) {
        buffer[count] = byte
        count += 1
    }

    /// Base 128, low bits first, at most ten bytes.
    mutating func put(varint value: UInt64) {
        var value = value
        while value >= 0x80 {
            put(byte: UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        put(byte: UInt8(value))
    }

    /// Zigzag, so that small negative numbers take few bytes too.
    mutating func put(zigzag value: Int64) {
        put(varint: UInt64(bitPattern: (value << 1) ^ (value >> 63)))
    }
}
