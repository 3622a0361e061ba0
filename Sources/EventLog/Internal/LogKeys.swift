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
    /// `idempotency` key: organization id, a zero byte, the idempotency key.
    static func idempotency(organizationID: String, key: String) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(organizationID.utf8.count + 1 + key.utf8.count)
        bytes.append(contentsOf: organizationID.utf8)
        bytes.append(0)
        bytes.append(contentsOf: key.utf8)
        return bytes
    }

    /// `organization_events` key: organization id, a zero byte, the 8-byte big-endian sequence.
    /// Organization ids never contain a zero byte, so one organization's keys are contiguous
    /// and in sequence order.
    static func organizationEvent(organizationID: String, sequence: UInt64) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(organizationID.utf8.count + 9)
        bytes.append(contentsOf: organizationID.utf8)
        bytes.append(0)
        withUnsafeBytes(of: sequence.bigEndian) { bytes.append(contentsOf: $0) }
        return bytes
    }
}
