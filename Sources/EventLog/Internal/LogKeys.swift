// Key encodings of the log's databases (docs/FORMAT.md).

/// A sequence as an 8-byte big-endian key, so LMDB's byte order is numeric order.
struct SequenceKey {
    var bigEndian: UInt64

    init(_ sequence: UInt64) { bigEndian = sequence.bigEndian }

    init?(bytes: UnsafeRawBufferPointer) {
        guard bytes.count == 8 else { return nil }
        bigEndian = bytes.loadUnaligned(as: UInt64.self)
    }

    var sequence: UInt64 { UInt64(bigEndian: bigEndian) }

    func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try Swift.withUnsafeBytes(of: bigEndian, body)
    }
}

enum LogKeys {
    /// `idempotency` key: the idempotency key, a zero byte, the organization id. The client's
    /// key comes first so that time-ordered keys (ULIDs, UUIDv7, counters) of every
    /// organization land next to each other, which keeps a commit's dirty pages few.
    /// Neither part may contain a zero byte (validation forbids control characters).
    static func idempotency(organizationID: String, key: String) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(key.utf8.count + 1 + organizationID.utf8.count)
        bytes.append(contentsOf: key.utf8)
        bytes.append(0)
        bytes.append(contentsOf: organizationID.utf8)
        return bytes
    }

    /// Sequences per segment of the `organization_events` index: 2^12.
    static let segmentShift: UInt64 = 12

    /// `organization_events` key: the 8-byte big-endian segment number (sequence >> 12)
    /// followed by the organization id. Its values are the organization's sequences in that
    /// segment. Segmenting by log position keeps a commit's index writes on the few pages of
    /// the current segment, however many organizations it touches.
    static func organizationSegment(_ segment: UInt64, organizationID: String) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(8 + organizationID.utf8.count)
        withUnsafeBytes(of: segment.bigEndian) { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: organizationID.utf8)
        return bytes
    }
}
