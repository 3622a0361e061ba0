/// An idempotency index key, as a set member or dictionary key. Hashed as one run of bytes:
/// `[UInt8]`'s own hashing feeds the hasher a byte at a time, which was a twentieth of the
/// writer thread's time appending a batch of usage.
struct IndexKey: Hashable, Sendable {
    let bytes: [UInt8]

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    func hash(into hasher: inout Hasher) {
        bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
    }
}
