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

    init?(bytes: [UInt8]) {
        guard bytes.count == 13, bytes[0] <= 1 else { return nil }
        slot = bytes[0]
        version = bytes[1..<5].reduce(0) { $0 << 8 | UInt32($1) }
        checkpoint = bytes[5..<13].reduce(0) { $0 << 8 | UInt64($1) }
    }

    var bytes: [UInt8] {
        [slot] + withUnsafeBytes(of: version.bigEndian) { Array($0) } + withUnsafeBytes(of: checkpoint.bigEndian) { Array($0) }
    }
}
