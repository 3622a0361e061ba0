import Foundation
import LMDB
import Projections
import Synchronization
import TallySupport

/// How a read model stores one kind of record: JSON with sorted keys (deterministic bytes,
/// `RecordJSONEncoder`), read through a cache keyed by the bytes themselves (`DecodeCache`).
///
/// What a projector writes is remembered under the bytes it wrote, so folding the next event
/// of the same record decodes nothing: a subscription or a customer's history is read and
/// written back by every event of its organization, and decoding them was a tenth of a
/// rebuild's batch thread (docs/PERFORMANCE.md). Sound only because decoding the bytes gives
/// back exactly the value encoded; `JSONRecordsTests` checks that for every record type here.
///
/// The last value encoded is kept with its bytes too: two projections fold every subscription
/// event into the same record (the `subscriptions` read model by organization, `mrr` by
/// subscription), and the second need not encode it again.
final class JSONRecords<Value: Codable & Sendable & Equatable>: Sendable {
    private let cache: DecodeCache<Value>
    private let lastEncoded = Mutex<(value: Value, bytes: [UInt8])?>(nil)
    private let decoder = JSONDecoder()

    init(capacity: Int = 4096) {
        cache = DecodeCache(capacity: capacity)
    }

    func decode(_ bytes: UnsafeRawBufferPointer) throws -> Value {
        try cache.value(for: bytes) { try decoder.decode(Value.self, from: Data($0)) }
    }

    func encode(_ value: Value) throws -> [UInt8] {
        if let last = lastEncoded.withLock({ $0 }), last.value == value { return last.bytes }
        let bytes = try RecordJSONEncoder.encode(value)
        cache.remember(bytes, as: value)
        lastEncoded.withLock { $0 = (value, bytes) }
        return bytes
    }

    /// The record stored under `key`, or nil.
    func value(forKey key: [UInt8], in database: Database, _ store: ProjectionStore) throws -> Value? {
        try store.withValue(forKey: key, in: database) { bytes in try bytes.map(decode) }
    }

    func put(_ value: Value, forKey key: [UInt8], in database: Database, _ store: ProjectionStore) throws {
        try store.put(try encode(value), forKey: key, in: database)
    }
}
