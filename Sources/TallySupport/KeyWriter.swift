/// Writes a key's parts into memory the caller provides (usually the stack): the usage
/// projections build several keys for every usage event, and an array each cost an allocation.
package struct KeyWriter {
    @usableFromInline let buffer: UnsafeMutableRawBufferPointer
    package var count = 0

    /// `buffer` must hold every part appended.
    @inlinable package init(_ buffer: UnsafeMutableRawBufferPointer) {
        self.buffer = buffer
    }

    /// The key written so far; valid while the buffer is.
    @inlinable package var key: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: buffer[..<count]) }

    @inlinable package mutating func append(_ text: String) {
        var text = text  // withUTF8 may need to make a bridged string contiguous
        text.withUTF8 { append(UnsafeRawBufferPointer($0)) }
    }

    @inlinable package mutating func append(_ bytes: UnsafeRawBufferPointer) {
        precondition(count + bytes.count <= buffer.count, "KeyWriter: the buffer is too small")
        UnsafeMutableRawBufferPointer(rebasing: buffer[count..<(count + bytes.count)]).copyMemory(from: bytes)
        count += bytes.count
    }

    @inlinable package mutating func append(_ byte: UInt8) {
        precondition(count < buffer.count, "KeyWriter: the buffer is too small")
        buffer[count] = byte
        count += 1
    }

    /// Big-endian, so that keys sort by the number.
    @inlinable package mutating func append(bigEndian value: UInt32) {
        precondition(count + 4 <= buffer.count, "KeyWriter: the buffer is too small")
        buffer.storeBytes(of: value.bigEndian, toByteOffset: count, as: UInt32.self)
        count += 4
    }

    @inlinable package mutating func append(bigEndian value: UInt64) {
        precondition(count + 8 <= buffer.count, "KeyWriter: the buffer is too small")
        buffer.storeBytes(of: value.bigEndian, toByteOffset: count, as: UInt64.self)
        count += 8
    }

    /// The key `build` writes, as an array of at most `capacity` bytes: for queries, which
    /// keep the key; the hot paths write into stack memory instead.
    @inlinable package static func bytes(capacity: Int, _ build: (inout KeyWriter) -> Void) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: capacity) { buffer, count in
            var writer = KeyWriter(UnsafeMutableRawBufferPointer(buffer))
            build(&writer)
            count = writer.count
        }
    }

    /// Calls `body` with the UTF-8 bytes of `first` and `second`: the projectors write keys
    /// from bytes (read in place during rebuilds), and strings reach them through this.
    @inlinable package static func withUTF8<Result>(
        _ first: String, _ second: String, _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Result
    ) rethrows -> Result {
        var (first, second) = (first, second)  // withUTF8 may need to make a bridged string contiguous
        return try first.withUTF8 { first in
            try second.withUTF8 { second in try body(UnsafeRawBufferPointer(first), UnsafeRawBufferPointer(second)) }
        }
    }

    /// Forgets everything after the first `length` bytes.
    @inlinable package mutating func truncate(to length: Int) {
        count = min(count, length)
    }
}
