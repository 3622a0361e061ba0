import Foundation
import Synchronization

/// Remembers what stored bytes decoded to, keyed by the bytes themselves: a read model whose
/// value changed has new bytes and misses, so the cache can never answer with stale data.
/// Bounded: when full it starts over (the hot records come back at once).
final class DecodeCache<Value: Sendable>: Sendable {
    private let entries = Mutex<[Data: Value]>([:])
    private let capacity: Int

    init(capacity: Int = 4096) {
        self.capacity = capacity
    }

    func value(for bytes: UnsafeRawBufferPointer, decode: (UnsafeRawBufferPointer) throws -> Value) rethrows -> Value {
        let key = Data(bytes)
        if let cached = entries.withLock({ $0[key] }) { return cached }
        let value = try decode(bytes)
        entries.withLock { entries in
            if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            entries[key] = value
        }
        return value
    }
}
