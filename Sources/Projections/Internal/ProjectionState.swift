/// What the `projections` database records per projector: which of its two slots is live,
/// the version that built it, and the last sequence folded into it.
///
/// Value layout: 1 byte slot (0 or 1), 4 bytes version, 8 bytes checkpoint, big-endian.
struct ProjectionState: Equatable, Sendable {
    var slot: UInt8
    var version: UInt32
    var checkpoint: UInt64

    static let fresh = ProjectionState(slot: 0, version: 0, checkpoint: 0)

    init(slot: UInt8, version: UInt32, checkpoint: UInt64) {
        self.slot = slot
        self.version = version
        self.checkpoint = checkpoint
    }

    /// Read in place: a quota check finds three projectors' live slots, and arrays for their
    /// keys and values were a tenth of its time.
    init?(buffer: UnsafeRawBufferPointer) {
        guard buffer.count == 13, buffer[0] <= 1 else { return nil }
        slot = buffer[0]
        version = UInt32(bigEndian: buffer.loadUnaligned(fromByteOffset: 1, as: UInt32.self))
        checkpoint = UInt64(bigEndian: buffer.loadUnaligned(fromByteOffset: 5, as: UInt64.self))
    }

    var bytes: [UInt8] {
        [slot] + withUnsafeBytes(of: version.bigEndian) { Array($0) }
            + withUnsafeBytes(of: checkpoint.bigEndian) { Array($0) }
    }
}
