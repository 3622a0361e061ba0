internal import CTallyLMDB

/// A position in a database, for ordered scans. Valid only inside `Transaction.withCursor`.
public final class Cursor {
    /// A key and its value, borrowed from LMDB: valid until the cursor moves or the transaction ends.
    public struct Entry {
        public let key: UnsafeRawBufferPointer
        public let value: UnsafeRawBufferPointer
    }

    let pointer: OpaquePointer
    let database: Database
    var isOpen = true

    init(pointer: OpaquePointer, database: Database) {
        self.pointer = pointer
        self.database = database
    }

    public func first() throws -> Entry? { try move(MDB_FIRST) }
    public func last() throws -> Entry? { try move(MDB_LAST) }
    public func next() throws -> Entry? { try move(MDB_NEXT) }
    public func previous() throws -> Entry? { try move(MDB_PREV) }
    public func current() throws -> Entry? { try move(MDB_GET_CURRENT) }

    /// Moves to the first entry whose key is at or after `key` (`MDB_SET_RANGE`).
    public func seek(atOrAfter key: UnsafeRawBufferPointer) throws -> Entry? {
        try move(MDB_SET_RANGE, key: key)
    }

    /// Moves to the entry with exactly `key` (`MDB_SET_KEY`).
    public func seek(exactly key: UnsafeRawBufferPointer) throws -> Entry? {
        try move(MDB_SET_KEY, key: key)
    }

    // Databases with `duplicateSort`: a key holds several sorted values.

    /// Moves to `key`'s first value at or after `value` (`MDB_GET_BOTH_RANGE`).
    public func seek(key: UnsafeRawBufferPointer, valueAtOrAfter value: UnsafeRawBufferPointer) throws -> Entry? {
        try move(MDB_GET_BOTH_RANGE, key: key, value: value)
    }

    /// The next value of the current key, or nil after its last (`MDB_NEXT_DUP`).
    public func nextDuplicate() throws -> Entry? { try move(MDB_NEXT_DUP) }

    // Writing, in a write transaction only. A cursor already on the right leaf page finds the
    // next key within that page (LMDB checks the page's first and last keys before searching
    // from the root), so writing keys in order through one cursor skips most of the searches
    // that `WriteTransaction.put` makes afresh each time.

    /// Stores `value` under `key` (`mdb_cursor_put`), leaving the cursor on it.
    public func put(_ value: UnsafeRawBufferPointer, forKey key: UnsafeRawBufferPointer) throws {
        precondition(isOpen, "an LMDB cursor was used after its closure returned")
        var keyValue = MDB_val(borrowing: key)
        var dataValue = MDB_val(borrowing: value)
        try check(mdb_cursor_put(pointer, &keyValue, &dataValue, 0), "mdb_cursor_put(\(database))")
    }

    /// Deletes `key` and its values if present. Returns false when there was no such key.
    @discardableResult
    public func delete(key: UnsafeRawBufferPointer) throws -> Bool {
        guard try seek(exactly: key) != nil else { return false }
        try check(mdb_cursor_del(pointer, UInt32(MDB_NODUPDATA)), "mdb_cursor_del(\(database))")
        return true
    }

    /// Deletes the entry the cursor is on (`mdb_cursor_del`). The cursor is then on the entry
    /// after it, which `current()` returns: deleting a run of entries in order takes no search.
    public func deleteCurrent() throws {
        precondition(isOpen, "an LMDB cursor was used after its closure returned")
        try check(mdb_cursor_del(pointer, 0), "mdb_cursor_del(\(database))")
    }

    @inline(__always)
    private func move(
        _ operation: MDB_cursor_op, key: UnsafeRawBufferPointer? = nil, value: UnsafeRawBufferPointer? = nil
    ) throws -> Entry? {
        precondition(isOpen, "an LMDB cursor was used after its closure returned")
        var keyValue = key.map { MDB_val(borrowing: $0) } ?? MDB_val()
        var dataValue = value.map { MDB_val(borrowing: $0) } ?? MDB_val()
        let rc = mdb_cursor_get(pointer, &keyValue, &dataValue, operation)
        if rc == MDB_NOTFOUND { return nil }
        try check(rc, "mdb_cursor_get(\(database))")
        return Entry(key: keyValue.bufferPointer, value: dataValue.bufferPointer)
    }
}

@available(*, unavailable)
extension Cursor: Sendable {}
