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
            let same = entry.bytes.withUnsafeBytes { kept in bytes.isEmpty || memcmp(kept.baseAddress!, bytes.baseAddress!, bytes.count) == 0 }
            return same ? entry.value : nil
        }
        if let cached { return cached }
        let value = try decode(bytes)
        entries.withLock { entries in
            if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            entries[key] = Entry(bytes: Array(bytes), value: value)  // a colliding record replaces the other
        }
        return value
    }

    /// FNV-1a over 8-byte words, then a final mix: only picks the slot; equality is checked.
    private static func hash(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325 ^ UInt64(bytes.count)
        var index = 0
        while index + 8 <= bytes.count {
            hash = (hash ^ bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self)) &* 0x0000_0100_0000_01B3
            hash ^= hash >> 29
            index += 8
        }
        while index < bytes.count {
            hash = (hash ^ UInt64(bytes[index])) &* 0x0000_0100_0000_01B3
            index += 1
        }
        hash ^= hash >> 32
        return hash &* 0xD6E8_FEB8_6659_FD93
    }
}
