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

    @inline(__always)
    private func move(_ operation: MDB_cursor_op, key: UnsafeRawBufferPointer? = nil, value: UnsafeRawBufferPointer? = nil) throws -> Entry? {
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
