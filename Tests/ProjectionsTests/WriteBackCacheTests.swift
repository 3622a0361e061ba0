import EventLog
import Foundation
import LMDB
import Projections
import Testing

/// A projection that exercises every way a projector writes: puts of values that grow and
/// shrink, in-place updates, deletes of present and absent keys, reads after its own writes.
/// Each "test.usage" payload "quantity=N" picks the operation and the key from N.
struct KeyValueChurn: Projector {
    let name = "kv_churn"
    let version: UInt32 = 1
    let eventTypes: Set<String> = ["test.usage"]
    let databases: [String: DatabaseOptions] = ["cells": [], "log": []]

    func apply(_ event: StoredEvent, to store: ProjectionStore) throws {
        let number = Int(String(decoding: event.payload, as: UTF8.self).split(separator: "=").last.flatMap { Int($0) } ?? 0)
        let key = Array("\(event.organizationID)/\(number % 23)".utf8)
        let cells = store.database("cells")
        switch number % 5 {
        case 0:  // a value that grows by one byte each time
            let old = try store.value(forKey: key, in: cells) ?? []
            try store.put(old + [UInt8(truncatingIfNeeded: number)], forKey: key, in: cells)
        case 1:  // shrinks back to a byte
            try store.put([UInt8(truncatingIfNeeded: number)], forKey: key, in: cells)
        case 2:
            try store.delete(key: key, in: cells)
        case 3:  // a fixed-size counter, read and written in one step
            try store.update(8, forKey: key + [0], in: cells) { old, new in
                let count = old.map { UInt64(bigEndian: $0.loadUnaligned(as: UInt64.self)) } ?? 0
                new.storeBytes(of: (count + UInt64(number)).bigEndian, as: UInt64.self)
            }
        default:  // reads what this event's organization wrote, and records what it saw
            let seen = try store.withValue(forKey: key, in: cells) { $0?.count ?? -1 }
            try store.put(Array("\(seen)".utf8), forKey: Array("seen/\(event.sequence)".utf8), in: store.database("log"))
        }
    }
}

@Suite("Projections: rebuild's write-back cache", .serialized)
struct WriteBackCacheTests {
    @Test("random puts, growth, deletes and updates: a rebuild through the cache equals the projection kept event by event")
    func cacheIsTransparent() async throws {
        let seed = TestEnvironment.seed()
        var random = SeededGenerator(seed: seed)
        let directory = Fixture.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (log, projections) = try Fixture.open(directory, projectors: [KeyValueChurn()])
        for _ in 0..<TestEnvironment.iterations(default: 60) {
            let batch = (0..<Int.random(in: 1...40, using: &random)).map { _ in
                Fixture.usage("org_\(Int.random(in: 0..<4, using: &random))", Int.random(in: 0..<10_000, using: &random))
            }
            _ = try log.appendSynchronously(contentsOf: batch)
        }
        let incremental = flatten(try projections.dump("kv_churn"))
        #expect(!(incremental["cells"] ?? []).isEmpty && !(incremental["log"] ?? []).isEmpty, "seed \(seed)")
        for batchSize in [1, 7, 100_000] {
            try projections.rebuild("kv_churn", batchSize: batchSize)
            #expect(flatten(try projections.dump("kv_churn")) == incremental, "batch size \(batchSize), seed \(seed)")
        }
    }
}
