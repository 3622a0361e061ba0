import Foundation
import Synchronization

/// Remembers what stored bytes decoded to, keyed by the bytes themselves: a read model whose
/// value changed has new bytes and misses, so the cache can never answer with stale data.
/// Bounded: when full it starts over (the hot records come back at once).
///
/// Found by a hash of the bytes, then confirmed by comparing them with the bytes it keeps, so
/// a lookup allocates nothing: a quota check looks up two records, and a `Data` key built
/// for each cost an allocation and a full SipHash per lookup.
final class DecodeCache<Value: Sendable>: Sendable {
    private struct Entry {
        var bytes: [UInt8]
        var value: Value
    }

    private let entries = Mutex<[UInt64: Entry]>([:])
    private let capacity: Int

    init(capacity: Int = 4096) {
        self.capacity = capacity
    }

    func value(for bytes: UnsafeRawBufferPointer, decode: (UnsafeRawBufferPointer) throws -> Value) rethrows -> Value {
        let key = Self.hash(bytes)
        let cached: Value? = entries.withLock { entries in
            guard let entry = entries[key], entry.bytes.count == bytes.count else { return nil }
            let same = entry.bytes.withUnsafeBytes { kept in
                bytes.isEmpty || memcmp(kept.baseAddress!, bytes.baseAddress!, bytes.count) == 0
            }
            return same ? entry.value : nil
        }
        if let cached { return cached }
        let value = try decode(bytes)
        insert(Array(bytes), value, hash: key)
        return value
    }

    /// Remembers that `bytes` decode to `value`: for a writer that has both at hand, having
    /// just encoded the one from the other, so that the next read of them decodes nothing.
    /// Only for a `value` that decoding `bytes` gives back exactly.
    func remember(_ bytes: [UInt8], as value: Value) {
        insert(bytes, value, hash: bytes.withUnsafeBytes { Self.hash($0) })
    }

    private func insert(_ bytes: [UInt8], _ value: Value, hash: UInt64) {
        entries.withLock { entries in
            if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            entries[hash] = Entry(bytes: bytes, value: value)  // a colliding record replaces the other
        }
    }

    /// FNV-1a over 8-byte words in four independent lanes, then a final mix: only picks the
    /// slot; equality is checked. A record is a kilobyte or two (a subscription's JSON, a
    /// plan), read on every quota check: one lane's chain of multiplies took a tenth of the check.
    private static func hash(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        let prime: UInt64 = 0x0000_0100_0000_01B3
        var lanes: (UInt64, UInt64, UInt64, UInt64) = (
            0xCBF2_9CE4_8422_2325 ^ UInt64(bytes.count), 0x9E37_79B9_7F4A_7C15, 0xC2B2_AE3D_27D4_EB4F,
            0x1656_67B1_9E37_79F9
        )
        var index = 0
        while index + 32 <= bytes.count {
            lanes.0 = (lanes.0 ^ bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self)) &* prime
            lanes.1 = (lanes.1 ^ bytes.loadUnaligned(fromByteOffset: index + 8, as: UInt64.self)) &* prime
            lanes.2 = (lanes.2 ^ bytes.loadUnaligned(fromByteOffset: index + 16, as: UInt64.self)) &* prime
            lanes.3 = (lanes.3 ^ bytes.loadUnaligned(fromByteOffset: index + 24, as: UInt64.self)) &* prime
            lanes.0 ^= lanes.0 >> 29
            lanes.1 ^= lanes.1 >> 29
            lanes.2 ^= lanes.2 >> 29
            lanes.3 ^= lanes.3 >> 29
            index += 32
        }
        var hash =
            lanes.0 ^ (lanes.1 &* 0xD6E8_FEB8_6659_FD93) ^ (lanes.2 &* 0xA076_1D64_78BD_642F)
            ^ (lanes.3 &* 0xE703_7ED1_A0B4_28DB)
        while index + 8 <= bytes.count {
            hash = (hash ^ bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self)) &* prime
            hash ^= hash >> 29
            index += 8
        }
        while index < bytes.count {
            hash = (hash ^ UInt64(bytes[index])) &* prime
            index += 1
        }
        hash ^= hash >> 32
        return hash &* 0xD6E8_FEB8_6659_FD93
    }
}
