import Foundation
import LMDB
import TallySupport
import TallyTestSupport
import Testing

@Suite("The LMDB wrapper")
struct EnvironmentTests {
    static func temporaryPath() -> String {
        ScratchPath.make("lmdb")
    }

    static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    @Test("values written in a committed transaction can be read back, and deleted")
    func roundTrip() throws {
        let environment = try Environment.open(at: Self.temporaryPath())
        let db = try environment.database(named: "things")
        try environment.write { txn in
            try txn.put(Self.bytes("one"), forKey: Self.bytes("a"), in: db)
            try txn.put(Self.bytes("two"), forKey: Self.bytes("b"), in: db)
        }
        #expect(try environment.read { try $0.value(forKey: Self.bytes("a"), in: db) } == Self.bytes("one"))
        #expect(try environment.read { try $0.value(forKey: Self.bytes("zzz"), in: db) } == nil)
        #expect(try environment.read { try $0.entryCount(in: db) } == 2)
        #expect(try environment.write { try $0.delete(key: Self.bytes("a"), in: db) })
        #expect(try environment.write { try $0.delete(key: Self.bytes("a"), in: db) } == false)
        #expect(try environment.read { try $0.entryCount(in: db) } == 1)
    }

    @Test("releasing the mapped pages loses nothing: reads fault them back, inside an open read too")
    func releaseMappedPages() throws {
        let environment = try Environment.open(at: Self.temporaryPath())
        let db = try environment.database(named: "things")
        try environment.write { txn in
            for index in 0..<5_000 {
                try txn.put(Array(repeating: UInt8(index % 251), count: 100), forKey: Self.bytes("k\(index)"), in: db)
            }
        }
        let value = try environment.read { txn in
            environment.releaseMappedPages()
            return try txn.value(forKey: Self.bytes("k4321"), in: db)
        }
        #expect(value == Array(repeating: UInt8(4321 % 251), count: 100))
        environment.releaseMappedPages()
        try environment.write { txn in try txn.put(Self.bytes("after"), forKey: Self.bytes("k1"), in: db) }
        environment.releaseMappedPages()
        #expect(try environment.read { try $0.value(forKey: Self.bytes("k1"), in: db) } == Self.bytes("after"))
        #expect(try environment.read { try $0.entryCount(in: db) } == 5_000)
    }

    @Test("a write that throws is aborted: nothing of it remains")
    func abortOnThrow() throws {
        struct Boom: Error {}
        let environment = try Environment.open(at: Self.temporaryPath())
        let db = try environment.database(named: "things")
        #expect(throws: Boom.self) {
            try environment.write { txn in
                try txn.put(Self.bytes("x"), forKey: Self.bytes("k"), in: db)
                throw Boom()
            }
        }
        #expect(try environment.read { try $0.entryCount(in: db) } == 0)
    }

    @Test("opening the same directory twice in a process returns the same environment")
    func openOnce() throws {
        let path = Self.temporaryPath()
        let first = try Environment.open(at: path)
        let second = try Environment.open(at: path + "/.")
        #expect(first === second)
    }

    @Test("cursors walk keys in byte order and seek to the first key at or after a key")
    func cursor() throws {
        let environment = try Environment.open(at: Self.temporaryPath())
        let db = try environment.database(named: "ordered")
        try environment.write { txn in
            for key in ["delta", "alpha", "charlie", "bravo"] {
                try txn.put(Self.bytes(key), forKey: Self.bytes(key), in: db)
            }
        }
        let (all, sought, last) = try environment.read { txn in
            try txn.withCursor(on: db) { cursor in
                var keys: [String] = []
                var entry = try cursor.first()
                while let current = entry {
                    keys.append(String(decoding: current.key, as: UTF8.self))
                    entry = try cursor.next()
                }
                let sought = try Self.bytes("bz").withUnsafeBytes { try cursor.seek(atOrAfter: $0) }.map {
                    String(decoding: $0.key, as: UTF8.self)
                }
                let last = try cursor.last().map { String(decoding: $0.value, as: UTF8.self) }
                return (keys, sought, last)
            }
        }
        #expect(all == ["alpha", "bravo", "charlie", "delta"])
        #expect(sought == "charlie")
        #expect(last == "delta")
    }

    @Test("deleting at a cursor, again and again, removes a run of entries in order, across many pages")
    func deleteCurrentRun() throws {
        let environment = try Environment.open(at: Self.temporaryPath())
        let db = try environment.database(named: "run")
        let value = [UInt8](repeating: 7, count: 60)
        try environment.write { txn in
            for sequence in UInt64(1)...5_000 {
                try withUnsafeBytes(of: sequence.bigEndian) { try txn.put(value, forKey: Array($0), in: db) }
            }
        }
        // The first 3,210 go, as a journal's drain deletes them: each delete leaves the cursor on the next.
        let seen = try environment.write { txn in
            try txn.withCursor(on: db) { cursor in
                var seen: [UInt64] = []
                var entry = try cursor.first()
                for _ in 0..<3_210 {
                    seen.append(UInt64(bigEndian: entry!.key.loadUnaligned(as: UInt64.self)))
                    try cursor.deleteCurrent()
                    entry = try cursor.current()
                }
                return seen
            }
        }
        #expect(seen == Array(1...3_210))
        let left = try environment.read { txn in
            try txn.withCursor(on: db) { cursor in
                var keys: [UInt64] = []
                var entry = try cursor.first()
                while let current = entry {
                    keys.append(UInt64(bigEndian: current.key.loadUnaligned(as: UInt64.self)))
                    entry = try cursor.next()
                }
                return keys
            }
        }
        #expect(left == Array(3_211...5_000))
    }

    @Test("duplicate-sorted databases keep several values per key, in order")
    func duplicates() throws {
        let environment = try Environment.open(at: Self.temporaryPath())
        let db = try environment.database(named: "dups", options: [.duplicateSort, .duplicateFixed])
        try environment.write { txn in
            for value in [UInt64(1), 5, 9] {
                try txn.put(
                    withUnsafeBytes(of: value.bigEndian) { Array($0) }, forKey: Self.bytes("k"), in: db,
                    options: .appendDuplicate)
            }
        }
        let values = try environment.read { txn in
            try txn.withCursor(on: db) { cursor in
                var values: [UInt64] = []
                var entry = try Self.bytes("k").withUnsafeBytes { key in
                    try withUnsafeBytes(of: UInt64(4).bigEndian) { try cursor.seek(key: key, valueAtOrAfter: $0) }
                }
                while let current = entry {
                    values.append(UInt64(bigEndian: current.value.loadUnaligned(as: UInt64.self)))
                    entry = try cursor.nextDuplicate()
                }
                return values
            }
        }
        #expect(values == [5, 9])
    }

    @Test("an error carries LMDB's code, its message and the operation")
    func errors() throws {
        let environment = try Environment.open(at: Self.temporaryPath())
        let db = try environment.database(named: "errors")
        try environment.write { try $0.put(Self.bytes("v"), forKey: Self.bytes("b"), in: db) }
        let error = #expect(throws: LMDBError.self) {
            try environment.write { try $0.put(Self.bytes("v"), forKey: Self.bytes("a"), in: db, options: .append) }
        }
        #expect(error?.code == .keyExists)
        #expect(error?.operation == "mdb_put(errors)")
        #expect(error?.message.contains("MDB_KEYEXIST") == true)
        let appended = try environment.write { txn in
            try Self.bytes("a").withUnsafeBytes { key in
                try Self.bytes("v").withUnsafeBytes { try txn.putIfAllowed($0, forKey: key, in: db, options: .append) }
            }
        }
        #expect(appended == false, "an out-of-order append is refused without an error")
    }

    @Test("a full map grows by itself, up to the configured maximum")
    func growth() throws {
        var options = EnvironmentOptions()
        options.mapSize = 1 << 16
        options.maxMapSize = 1 << 22
        let environment = try Environment.open(at: Self.temporaryPath(), options: options)
        let db = try environment.database(named: "big")
        let value = [UInt8](repeating: 1, count: 1000)
        // a read transaction kept for reuse while the map moves
        #expect(try environment.read { try $0.entryCount(in: db) } == 0)
        try environment.write { txn in
            for index in 0..<1000 {
                try txn.put(value, forKey: withUnsafeBytes(of: UInt64(index).bigEndian) { Array($0) }, in: db)
            }
        }
        #expect(environment.mapGrowths >= 4)
        #expect(try environment.read { try $0.entryCount(in: db) } == 1000)
        // Past the maximum, the write fails with mapFull and changes nothing.
        let error = #expect(throws: LMDBError.self) {
            try environment.write { txn in
                for index in 1000..<10_000 {
                    try txn.put(value, forKey: withUnsafeBytes(of: UInt64(index).bigEndian) { Array($0) }, in: db)
                }
            }
        }
        #expect(error?.code == .mapFull)
        #expect(try environment.read { try $0.entryCount(in: db) } == 1000)
    }

    @Test("a read without waiting, on another thread, sees the last commit and none of an open write's changes")
    func readWithoutWaiting() throws {
        let environment = try Environment.open(at: Self.temporaryPath())
        let db = try environment.database(named: "things")
        try environment.write { try $0.put(Self.bytes("committed"), forKey: Self.bytes("k"), in: db) }
        try environment.write { txn in
            try txn.put(Self.bytes("pending"), forKey: Self.bytes("k"), in: db)
            try txn.put(Self.bytes("new"), forKey: Self.bytes("other"), in: db)
            let seen = try HelperThreads.start {
                try environment.readWithoutWaiting { reader in
                    [
                        try reader.value(forKey: Self.bytes("k"), in: db),
                        try reader.value(forKey: Self.bytes("other"), in: db),
                    ]
                }
            }.result().get()
            #expect(seen == [Self.bytes("committed"), nil])
        }
        #expect(
            try environment.readWithoutWaiting { try $0.value(forKey: Self.bytes("k"), in: db) }
                == Self.bytes("pending"))
    }

    @Test("read transactions are reused: each sees the latest commit, and reads take few reader slots")
    func readerReuse() async throws {
        let environment = try Environment.open(at: Self.temporaryPath())
        let db = try environment.database(named: "counter")
        let key = Self.bytes("n")
        for number in 0..<500 {
            try environment.write { try $0.put(withUnsafeBytes(of: UInt64(number)) { Array($0) }, forKey: key, in: db) }
            let read = try environment.read { txn in try txn.value(forKey: key, in: db) }
            #expect(read == withUnsafeBytes(of: UInt64(number)) { Array($0) }, "read \(number) saw an older snapshot")
        }
        #expect(
            environment.readerSlotsUsed <= 2,
            "500 reads one after another took \(environment.readerSlotsUsed) reader slots")
        // More concurrent readers than are kept, a read inside a read, and a read that throws.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<40 {
                group.addTask {
                    for _ in 0..<100 {
                        let outer = try environment.read { outer in
                            try environment.read { inner in try inner.value(forKey: key, in: db) }
                                == (try outer.value(forKey: key, in: db))
                        }
                        #expect(outer)
                        #expect(throws: CancellationError.self) {
                            try environment.read { _ in throw CancellationError() }
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(
            try environment.read { try $0.value(forKey: key, in: db) } == withUnsafeBytes(of: UInt64(499)) { Array($0) }
        )
    }
}
