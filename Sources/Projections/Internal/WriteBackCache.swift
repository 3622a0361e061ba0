internal import CTallyPrefetch
import Foundation
import LMDB

/// The projection writes of one rebuild batch, or of one append request, held in memory and
/// written to LMDB once per key, in key order, when the batch or request ends (and whenever
/// they pass 256 MB, so offsets always fit the table's 32 bits). Many events fold into few
/// cells (a day's counter, a user's rollup): read-modify-writing each through LMDB costs two
/// B-tree searches per event, where this costs one hash lookup and, at the end, one put per cell.
/// After writing, it can keep the cells as clean copies (`flush(into:retaining:)`), so that
/// the next rebuild batch, or the next append transaction, rarely searches LMDB at all.
///
/// Transparent to projectors: `ProjectionStore` reads through it (its own writes first, then
/// LMDB), so a projection rebuilt with it is byte for byte the one folded without it (the
/// property tests compare them). Keys and values live in one arena and are found through an
/// open-addressing table of offsets with a cheap word-at-a-time hash: a dictionary keyed by
/// byte arrays was measured slower than LMDB itself (docs/PERFORMANCE.md). The storage is
/// manually allocated memory, owned by this object alone and never shared, so the hot path
/// pays for neither copy-on-write nor exclusivity checks.
/// `@unchecked Sendable`: one thread uses it at a time (a rebuild's caller, or the writer
/// thread for the transaction it holds), and `ProjectionSet` hands it over through a mutex.
final class WriteBackCache: @unchecked Sendable {
    /// Entry layout in the arena: database id (4 bytes), key length (2), whether LMDB lacks
    /// the value (1: dirty), a spare byte, value length (4; `deleted` marks a deletion), room
    /// for the value (4), then the key, then the room.
    private var arena: UnsafeMutableRawPointer
    private var arenaCapacity: Int
    private(set) var byteCount = 0
    /// Per slot: the high 32 bits of the key's hash, then the offset + 1 of its entry (0 for
    /// an empty slot), in one word, so a probe touches one cache line.
    private var slots: UnsafeMutablePointer<UInt64>
    private var slotCount: Int
    private var count = 0
    /// The entries written since the last flush (some may since be superseded: not dirty).
    private var dirtyEntries: [Int] = []
    private var databases: [UInt32: Database] = [:]
    private static let deleted = UInt32.max
    private static let header = 16
    private static let keyLengthOffset = 4
    private static let dirtyOffset = 6
    private static let lengthOffset = 8
    private static let roomOffset = 12

    init(capacity: Int = 1 << 16) {
        var size = 1024
        while size < capacity * 2 { size <<= 1 }
        slotCount = size
        slots = .allocate(capacity: size)
        slots.initialize(repeating: 0, count: size)
        arenaCapacity = capacity * 64
        arena = .allocate(byteCount: arenaCapacity, alignment: 8)
    }

    deinit {
        slots.deallocate()
        arena.deallocate()
    }

    enum Lookup {
        case absent
        case deleted
        case value(UnsafeRawBufferPointer)
    }

    /// What this batch wrote under `key`, if anything. A value's bytes stay valid until the
    /// next put or delete.
    func lookup(_ key: UnsafeRawBufferPointer, in database: Database) -> Lookup {
        let (slot, found) = find(key, database.id, Self.hash(key, database.id))
        guard found else { return .absent }
        let entry = Self.entry(slots[slot])
        let length = arena.loadUnaligned(fromByteOffset: entry + Self.lengthOffset, as: UInt32.self)
        if length == Self.deleted { return .deleted }
        return .value(UnsafeRawBufferPointer(start: arena + entry + Self.header + key.count, count: Int(length)))
    }

    /// Stores `count` bytes under `key`, written in place by `fill`.
    func put(
        _ count: Int, forKey key: UnsafeRawBufferPointer, in database: Database,
        fill: (UnsafeMutableRawBufferPointer) throws -> Void
    ) rethrows {
        let offset = entry(for: key, database, valueCount: UInt32(count))
        try fill(UnsafeMutableRawBufferPointer(start: arena + offset, count: count))
    }

    /// Replaces `key`'s value with at most `maximumCount` bytes that `body` writes from the old
    /// value (this batch's, else `stored()`'s from LMDB, else nil) and counts, with one lookup.
    func update(
        upTo maximumCount: Int, forKey key: UnsafeRawBufferPointer, in database: Database,
        stored: () throws -> UnsafeRawBufferPointer?,
        _ body: (UnsafeRawBufferPointer?, UnsafeMutableRawBufferPointer) throws -> Int
    ) throws {
        let hash = Self.hash(key, database.id)
        let (slot, found) = find(key, database.id, hash)
        let offset: Int
        if found {
            let entry = Self.entry(slots[slot])
            let length = arena.loadUnaligned(fromByteOffset: entry + Self.lengthOffset, as: UInt32.self)
            let room = Int(arena.loadUnaligned(fromByteOffset: entry + Self.roomOffset, as: UInt32.self))
            let value = arena + entry + Self.header + key.count
            if length != Self.deleted, maximumCount <= room {
                // Old and new share the entry: hand `body` a copy of the old bytes.
                try withUnsafeTemporaryAllocation(byteCount: Int(length), alignment: 8) { old in
                    old.copyMemory(from: UnsafeRawBufferPointer(start: value, count: Int(length)))
                    markDirty(entry)
                    let written = try body(
                        UnsafeRawBufferPointer(old), UnsafeMutableRawBufferPointer(start: value, count: maximumCount))
                    setLength(written, ofValueAt: value - arena, keyCount: key.count, maximumCount)
                }
                return
            }
            let old: [UInt8]? =
                length == Self.deleted ? nil : Array(UnsafeRawBufferPointer(start: value, count: Int(length)))
            offset = insert(key, database, hash: hash, slot: slot, found: true, valueCount: UInt32(maximumCount))
            let new = UnsafeMutableRawBufferPointer(start: arena + offset, count: maximumCount)
            let written = try old.map { old in try old.withUnsafeBytes { try body($0, new) } } ?? body(nil, new)
            setLength(written, ofValueAt: offset, keyCount: key.count, maximumCount)
            return
        }
        let previous = try stored()
        offset = insert(key, database, hash: hash, slot: slot, found: false, valueCount: UInt32(maximumCount))
        let written = try body(previous, UnsafeMutableRawBufferPointer(start: arena + offset, count: maximumCount))
        setLength(written, ofValueAt: offset, keyCount: key.count, maximumCount)
    }

    /// Records that the value at `offset` holds `count` of its `maximumCount` bytes of room.
    private func setLength(_ count: Int, ofValueAt offset: Int, keyCount: Int, _ maximumCount: Int) {
        precondition(
            (0...maximumCount).contains(count), "WriteBackCache: a value of \(count) bytes overran its \(maximumCount)")
        arena.storeBytes(
            of: UInt32(count), toByteOffset: offset - keyCount - Self.header + Self.lengthOffset, as: UInt32.self)
    }

    /// Starts loading the table slot of the key whose `hash(_:_:)` this is, so that a lookup
    /// of it soon after waits less for memory.
    func prefetch(hash: UInt64) {
        tally_prefetch(slots + (Int(truncatingIfNeeded: hash) & (slotCount - 1)))
    }

    func delete(_ key: UnsafeRawBufferPointer, in database: Database) {
        _ = entry(for: key, database, valueCount: Self.deleted)
    }

    /// Writes every entry LMDB lacks, in about key order, through one cursor per database (a
    /// cursor already on the right page skips the search from the root). Then forgets them,
    /// or, `retaining` them, keeps them as clean copies of what LMDB now holds: the next
    /// transaction may read them instead of LMDB, but only if this one commits and nothing
    /// else writes these databases in between (a rebuild's own slot); otherwise `reset()`.
    /// Past `retainedBytes` it forgets them anyway, unless `keepingAll` (another thread reads
    /// them meanwhile: a rebuild lane folding the next batch ahead), when only `reset()` does.
    func flush(into transaction: WriteTransaction, retaining: Bool = false, keepingAll: Bool = false) throws {
        guard count > 0 else { return }
        let arena = self.arena
        func key(_ entry: Int) -> UnsafeRawBufferPointer {
            UnsafeRawBufferPointer(
                start: arena + entry + Self.header,
                count: Int(arena.loadUnaligned(fromByteOffset: entry + Self.keyLengthOffset, as: UInt16.self)))
        }
        // Key order only keeps LMDB's page touches together; it decides nothing (keys are
        // distinct). So the database and the key's first 15 bytes are order enough: sorting
        // two words beats comparing whole keys.
        var entries: [(first: UInt64, second: UInt64, entry: Int)] = []
        entries.reserveCapacity(count)
        for entry in dirtyEntries {
            guard arena.load(fromByteOffset: entry + Self.dirtyOffset, as: UInt8.self) != 0 else { continue }
            let key = key(entry)
            var words: (UInt64, UInt64) = (0, 0)
            withUnsafeMutableBytes(of: &words) { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: key.prefix(15))) }
            let database = UInt64(truncatingIfNeeded: arena.loadUnaligned(fromByteOffset: entry, as: UInt32.self))
            entries.append(
                (
                    database << 56 | UInt64(bigEndian: words.0) >> 8,
                    UInt64(bigEndian: words.0) << 56 | UInt64(bigEndian: words.1) >> 8, entry
                ))
        }
        entries.withUnsafeMutableBufferPointer { buffer in
            buffer.sort { ($0.first, $0.second) < ($1.first, $1.second) }
        }
        var index = 0
        while index < entries.count {
            // One cursor for the run of entries of one database (sorted first by database).
            let id = arena.loadUnaligned(fromByteOffset: entries[index].entry, as: UInt32.self)
            try transaction.withCursor(on: databases[id]!) { cursor in
                while index < entries.count {
                    let entry = entries[index].entry
                    // Key order is not arena order: start loading an entry a few puts ahead.
                    if index + Self.flushPrefetchDistance < entries.count {
                        tally_prefetch(arena + entries[index + Self.flushPrefetchDistance].entry)
                    }
                    guard arena.loadUnaligned(fromByteOffset: entry, as: UInt32.self) == id else { return }
                    let key = key(entry)
                    let length = arena.loadUnaligned(fromByteOffset: entry + Self.lengthOffset, as: UInt32.self)
                    if length == Self.deleted {
                        try cursor.delete(key: key)
                    } else {
                        try cursor.put(
                            UnsafeRawBufferPointer(start: arena + entry + Self.header + key.count, count: Int(length)),
                            forKey: key)
                    }
                    arena.storeBytes(of: UInt8(0), toByteOffset: entry + Self.dirtyOffset, as: UInt8.self)
                    index += 1
                }
            }
        }
        dirtyEntries.removeAll(keepingCapacity: true)
        // What may be read back later is bounded; past that the next reads go to LMDB.
        if !keepingAll && (!retaining || byteCount > retainedBytes) { reset() }
    }

    /// How many entries ahead of the one it writes a flush starts loading.
    private static let flushPrefetchDistance = 8

    /// The most clean cells a flush keeps (a rebuild's two lanes keep half each).
    var retainedBytes = 64 << 20

    /// Marks `entry` as one LMDB lacks, for the next flush.
    private func markDirty(_ entry: Int) {
        guard arena.load(fromByteOffset: entry + Self.dirtyOffset, as: UInt8.self) == 0 else { return }
        arena.storeBytes(of: UInt8(1), toByteOffset: entry + Self.dirtyOffset, as: UInt8.self)
        dirtyEntries.append(entry)
    }

    /// Forgets every entry without writing it: a transaction retried (after map growth) folds
    /// its batch again from scratch.
    func reset() {
        guard count > 0 || byteCount > 0 else { return }
        slots.update(repeating: 0, count: slotCount)
        byteCount = 0
        count = 0
        dirtyEntries.removeAll(keepingCapacity: true)
    }

    // MARK: The table

    /// The offset of the value bytes of `key`'s entry, made to hold `valueCount` bytes.
    private func entry(for key: UnsafeRawBufferPointer, _ database: Database, valueCount: UInt32) -> Int {
        let hash = Self.hash(key, database.id)
        let (slot, found) = find(key, database.id, hash)
        let needed = valueCount == Self.deleted ? 0 : Int(valueCount)
        if found {
            let entry = Self.entry(slots[slot])
            if needed <= Int(arena.loadUnaligned(fromByteOffset: entry + Self.roomOffset, as: UInt32.self)) {
                arena.storeBytes(of: valueCount, toByteOffset: entry + Self.lengthOffset, as: UInt32.self)
                markDirty(entry)
                return entry + Self.header + key.count
            }
        }
        return insert(key, database, hash: hash, slot: slot, found: found, valueCount: valueCount)
    }

    /// Appends a new entry (or a value that outgrew its old one) and points `slot` to it.
    private func insert(
        _ key: UnsafeRawBufferPointer, _ database: Database, hash: UInt64, slot: Int, found: Bool, valueCount: UInt32
    ) -> Int {
        let needed = valueCount == Self.deleted ? 0 : Int(valueCount)
        let size = Self.header + key.count + needed
        if byteCount + size > arenaCapacity { growArena(to: byteCount + size) }
        let entry = byteCount
        byteCount += size
        arena.storeBytes(of: database.id, toByteOffset: entry, as: UInt32.self)
        arena.storeBytes(of: UInt16(key.count), toByteOffset: entry + Self.keyLengthOffset, as: UInt16.self)
        // dirty, and the spare byte
        arena.storeBytes(of: UInt16(1), toByteOffset: entry + Self.dirtyOffset, as: UInt16.self)
        dirtyEntries.append(entry)
        if found {
            // The old entry is superseded: the flush must not write it.
            arena.storeBytes(of: UInt8(0), toByteOffset: Self.entry(slots[slot]) + Self.dirtyOffset, as: UInt8.self)
        }
        arena.storeBytes(of: valueCount, toByteOffset: entry + Self.lengthOffset, as: UInt32.self)
        arena.storeBytes(of: UInt32(needed), toByteOffset: entry + Self.roomOffset, as: UInt32.self)
        (arena + entry + Self.header).copyMemory(from: key.baseAddress!, byteCount: key.count)
        if databases[database.id] == nil { databases[database.id] = database }
        slots[slot] = (hash & 0xFFFF_FFFF_0000_0000) | UInt64(entry + 1)
        if !found {
            count += 1
            if count * 2 > slotCount { growTable() }
        }
        return entry + Self.header + key.count
    }

    private func find(_ key: UnsafeRawBufferPointer, _ database: UInt32, _ hash: UInt64) -> (slot: Int, found: Bool) {
        let mask = slotCount - 1
        let tag = hash & 0xFFFF_FFFF_0000_0000
        var slot = Int(truncatingIfNeeded: hash) & mask
        while true {
            let occupant = slots[slot]
            if occupant == 0 { return (slot, false) }
            if occupant & 0xFFFF_FFFF_0000_0000 == tag {
                let entry = Self.entry(occupant)
                if Int(arena.loadUnaligned(fromByteOffset: entry + Self.keyLengthOffset, as: UInt16.self)) == key.count,
                    arena.loadUnaligned(fromByteOffset: entry, as: UInt32.self) == database,
                    memcmp(arena + entry + Self.header, key.baseAddress!, key.count) == 0
                {
                    return (slot, true)
                }
            }
            slot = (slot + 1) & mask
        }
    }

    private func growArena(to needed: Int) {
        var capacity = arenaCapacity * 2
        while capacity < needed { capacity *= 2 }
        let bigger = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 8)
        bigger.copyMemory(from: arena, byteCount: byteCount)
        arena.deallocate()
        arena = bigger
        arenaCapacity = capacity
    }

    private func growTable() {
        let (oldSlots, oldCount) = (slots, slotCount)
        slotCount *= 2
        slots = .allocate(capacity: slotCount)
        slots.initialize(repeating: 0, count: slotCount)
        let mask = slotCount - 1
        for index in 0..<oldCount where oldSlots[index] != 0 {
            let entry = Self.entry(oldSlots[index])
            let key = UnsafeRawBufferPointer(
                start: arena + entry + Self.header,
                count: Int(arena.loadUnaligned(fromByteOffset: entry + Self.keyLengthOffset, as: UInt16.self)))
            var slot =
                Int(truncatingIfNeeded: Self.hash(key, arena.loadUnaligned(fromByteOffset: entry, as: UInt32.self)))
                & mask
            while slots[slot] != 0 { slot = (slot + 1) & mask }
            slots[slot] = oldSlots[index]
        }
        oldSlots.deallocate()
    }

    private static func entry(_ slot: UInt64) -> Int { Int(truncatingIfNeeded: slot & 0xFFFF_FFFF) - 1 }

    /// A multiply-and-fold hash over 8-byte words: keys are short, and it runs for every cell
    /// an event touches.
    static func hash(_ key: UnsafeRawBufferPointer, _ database: UInt32) -> UInt64 {
        var hash: UInt64 = 0x9E37_79B9_7F4A_7C15 &* (UInt64(database) &+ 1)
        var index = 0
        while index + 8 <= key.count {
            hash = (hash ^ key.loadUnaligned(fromByteOffset: index, as: UInt64.self)) &* 0xFF51_AFD7_ED55_8CCD
            hash ^= hash >> 32
            index += 8
        }
        var tail = UInt64(key.count) << 56
        var shift: UInt64 = 0
        while index < key.count {
            tail |= UInt64(key[index]) << shift
            shift += 8
            index += 1
        }
        hash = (hash ^ tail) &* 0xC4CE_B9FE_1A85_EC53
        return hash ^ (hash >> 29)
    }
}

extension Environment {
    /// A write transaction whose body folds through `cache`, keeping its cells between
    /// transactions: a retry (the map grew) starts the cache empty, since the aborted
    /// attempt's cells never reached LMDB.
    func write(retaining cache: WriteBackCache, _ body: (WriteTransaction) throws -> Void) throws {
        var attempts = 0
        try write { txn in
            attempts += 1
            if attempts > 1 { cache.reset() }
            try body(txn)
        }
    }
}
