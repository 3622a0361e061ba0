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
        let number = Int(
            String(decoding: event.payload, as: UTF8.self).split(separator: "=").last.flatMap { Int($0) } ?? 0)
        let key = Array("\(event.organizationID)/\(number % 23)".utf8)
        let cells = store.database("cells")
        switch number % 6 {
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
        case 4:  // a varint whose length follows its value, read and written in one step
            try store.update(upTo: 10, forKey: key + [1], in: cells) { old, new in
                var value: UInt64 = 0
                for (index, byte) in (old ?? UnsafeRawBufferPointer(start: nil, count: 0)).enumerated() {
                    value |= UInt64(byte & 0x7F) << (7 * index)
                }
                // back to one byte, or longer (wrapping: it may grow past 64 bits)
                value = (number / 6) % 3 == 0 ? 1 : value &* 1_000 &+ UInt64(number)
                var written = 0
                repeat {
                    new[written] = UInt8(value & 0x7F) | (value >= 0x80 ? 0x80 : 0)
                    value >>= 7
                    written += 1
                } while value > 0
                return written
            }
        default:  // reads what this event's organization wrote, and records what it saw
            let seen = try store.withValue(forKey: key, in: cells) { $0?.count ?? -1 }
            try store.put(
                Array("\(seen)".utf8), forKey: Array("seen/\(event.sequence)".utf8), in: store.database("log"))
        }
    }
}

/// Counters read and written through the cache, and a wide value per event, so that the
/// projection outgrows the log and a rebuild must grow the map part way through.
struct WideCounters: Projector {
    let name = "wide_counters"
    let version: UInt32 = 1
    let eventTypes: Set<String> = ["test.usage"]
    let databases: [String: DatabaseOptions] = ["counters": [], "blobs": []]

    func apply(_ event: StoredEvent, to store: ProjectionStore) throws {
        let key = Array("\(event.organizationID)/\(event.sequence % 37)".utf8)
        try store.update(8, forKey: key, in: store.database("counters")) { old, new in
            let count = old.map { UInt64(bigEndian: $0.loadUnaligned(as: UInt64.self)) } ?? 0
            new.storeBytes(of: (count + event.sequence).bigEndian, as: UInt64.self)
        }
        let blob = [UInt8](repeating: UInt8(truncatingIfNeeded: event.sequence), count: 400)
        try store.put(blob, forKey: Array("blob/\(event.sequence)".utf8), in: store.database("blobs"))
    }
}

@Suite("Projections: rebuild's write-back cache", .serialized)
struct WriteBackCacheTests {
    @Test(
        "random puts, growth, deletes and updates: a rebuild through the cache equals the projection kept event by event"
    )
    func cacheIsTransparent() async throws {
        let seed = TestEnvironment.seed()
        var random = SeededGenerator(seed: seed)
        let directory = Fixture.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (log, projections) = try Fixture.open(directory, projectors: [KeyValueChurn()])
        for _ in 0..<TestEnvironment.iterations(default: 60) {
            let batch = (0..<Int.random(in: 1...40, using: &random)).map { _ in
                Fixture.usage(
                    "org_\(Int.random(in: 0..<4, using: &random))", Int.random(in: 0..<10_000, using: &random))
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

    @Test(
        "a rebuild batch retried after the map grew starts from what LMDB holds, not from the aborted attempt's cells")
    func retriedBatchForgetsItsCells() throws {
        let directory = Fixture.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (log, projections) = try Fixture.open(directory, projectors: [WideCounters()], mapSize: 1 << 16)
        for batch in 0..<30 {
            _ = try log.appendSynchronously(
                contentsOf: (0..<50).map { Fixture.usage("org_\($0 % 3)", batch * 50 + $0) })
        }
        let incremental = flatten(try projections.dump("wide_counters"))
        let growthsBefore = log.environment.mapGrowths
        // Batches of 40: the cells the cache keeps between batches are read back by the next
        // one, and the map fills in one of the later batches (the new slot doubles the data).
        try projections.rebuild("wide_counters", batchSize: 40)
        #expect(
            log.environment.mapGrowths > growthsBefore,
            "the rebuild must have retried a batch for this test to mean anything")
        #expect(flatten(try projections.dump("wide_counters")) == incremental)
    }
}
