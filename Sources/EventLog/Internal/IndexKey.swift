/// An idempotency index key, as a set member or dictionary key. Its hash is computed once,
/// where the key is made (often the deciding thread): a streamed request's writer looks each
/// key up two or three times, and hashing its thirty-odd bytes each time was a twentieth of
/// the writer thread's time (`[UInt8]`'s own hashing, a byte at a time, twice that).
struct IndexKey: Hashable, Sendable {
    let bytes: [UInt8]
    private let hash: UInt64

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
        hash = Self.hash(of: bytes)
    }

    static func == (left: IndexKey, right: IndexKey) -> Bool {
        left.hash == right.hash && left.bytes == right.bytes
    }

    func hash(into hasher: inout Hasher) {
        hasher.combine(hash)
    }

    /// A 64-bit mix of the bytes, eight at a time (the hasher's seeded hash goes over it, so
    /// collisions cannot be forced any more than with `[UInt8]`'s own hashing, up to 64 bits).
    private static func hash(of bytes: [UInt8]) -> UInt64 {
        bytes.withUnsafeBytes { raw in
            var hash: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(raw.count)
            var offset = 0
            while offset + 8 <= raw.count {
                hash = mix(hash ^ raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
                offset += 8
            }
            var tail: UInt64 = 0
            for index in offset..<raw.count { tail |= UInt64(raw[index]) << (UInt64(index - offset) * 8) }
            return mix(hash ^ tail)
        }
    }

    private static func mix(_ value: UInt64) -> UInt64 {
        var value = value &* 0xBF58_476D_1CE4_E5B9
        value ^= value >> 31
        return value &* 0x94D0_49BB_1331_11EB
    }
}
