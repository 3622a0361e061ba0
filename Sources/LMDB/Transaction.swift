internal import CTallyLMDB
public import Foundation
import Synchronization

/// A transaction: a consistent snapshot of every database in the environment.
///
/// Handed out only inside `Environment.read` and `Environment.write` closures, and valid only
/// there. Buffers it returns borrow LMDB's memory and are valid until the transaction ends or,
/// in a write transaction, until the next write.
public class Transaction {
    let pointer: OpaquePointer
    /// Cleared when the closure returns, so a transaction smuggled out fails loudly.
    var isOpen = true
    /// Unique in this process, never reused: lets code cache what it read in one transaction
    /// without mistaking a later transaction (or a retry after map growth) for it.
    public let id: UInt64

    private static let ids = Atomic<UInt64>(0)

    /// LMDB's own number for this transaction (`mdb_txn_id`): a write transaction gets the
    /// last committed one's plus one, in every process, and a retry gets the same number again.
    /// So a write transaction numbered one past a commit this process saw succeed knows that no
    /// other transaction committed in between.
    public var lmdbID: UInt64 { UInt64(mdb_txn_id(pointer)) }

    init(pointer: OpaquePointer) {
        self.pointer = pointer
        self.id = Self.ids.add(1, ordering: .relaxed).newValue
    }

    @inline(__always)
    func requireOpen() {
        precondition(isOpen, "an LMDB transaction was used after its closure returned")
    }

    /// Calls `body` with the value stored under `key`, or nil when there is none.
    /// The buffer is valid only inside `body`.
    public func withValue<R>(
        forKey key: UnsafeRawBufferPointer, in database: Database,
        _ body: (UnsafeRawBufferPointer?) throws -> R
    ) throws -> R {
        requireOpen()
        var keyValue = MDB_val(borrowing: key)
        var value = MDB_val()
        let rc = mdb_get(pointer, database.handle, &keyValue, &value)
        if rc == MDB_NOTFOUND { return try body(nil) }
        try check(rc, "mdb_get(\(database))")
        return try body(value.bufferPointer)
    }

    /// A copy of the value stored under `key`, or nil when there is none.
    public func value(forKey key: some ContiguousBytes, in database: Database) throws -> [UInt8]? {
        try key.withUnsafeBytes { key in
            try withValue(forKey: key, in: database) { $0.map { Array($0) } }
        }
    }

    /// The number of entries in `database`.
    public func entryCount(in database: Database) throws -> Int {
        requireOpen()
        var stat = MDB_stat()
        try check(mdb_stat(pointer, database.handle, &stat), "mdb_stat(\(database))")
        return stat.ms_entries
    }

    /// Calls `body` with a cursor over `database`; the cursor is closed when `body` returns.
    public func withCursor<R>(on database: Database, _ body: (Cursor) throws -> R) throws -> R {
        requireOpen()
        var cursorPointer: OpaquePointer?
        try check(mdb_cursor_open(pointer, database.handle, &cursorPointer), "mdb_cursor_open(\(database))")
        let cursor = Cursor(pointer: cursorPointer!, database: database)
        defer {
            cursor.isOpen = false
            mdb_cursor_close(cursorPointer)
        }
        return try body(cursor)
    }
}

@available(*, unavailable)
extension Transaction: Sendable {}

/// A transaction that can also write. Commits when its closure returns, aborts when it throws.
public final class WriteTransaction: Transaction {
    /// Stores `value` under `key`.
    public func put(
        _ value: UnsafeRawBufferPointer, forKey key: UnsafeRawBufferPointer,
        in database: Database, options: PutOptions = []
    ) throws {
        requireOpen()
        var keyValue = MDB_val(borrowing: key)
        var dataValue = MDB_val(borrowing: value)
        try check(mdb_put(pointer, database.handle, &keyValue, &dataValue, options.rawValue), "mdb_put(\(database))")
    }

    /// Stores `value` under `key` unless `options` forbid it: returns false, rather than
    /// throwing, when LMDB answers `.keyExists` (`noOverwrite`, `noDuplicateData`, or an
    /// `append` whose key is not the largest).
    public func putIfAllowed(
        _ value: UnsafeRawBufferPointer, forKey key: UnsafeRawBufferPointer,
        in database: Database, options: PutOptions
    ) throws -> Bool {
        requireOpen()
        var keyValue = MDB_val(borrowing: key)
        var dataValue = MDB_val(borrowing: value)
        let rc = mdb_put(pointer, database.handle, &keyValue, &dataValue, options.rawValue)
        if rc == MDB_KEYEXIST { return false }
        try check(rc, "mdb_put(\(database))")
        return true
    }

    /// Stores `value` under `key`, copying from any contiguous bytes.
    public func put(
        _ value: some ContiguousBytes, forKey key: some ContiguousBytes,
        in database: Database, options: PutOptions = []
    ) throws {
        try key.withUnsafeBytes { key in
            try value.withUnsafeBytes { value in
                try put(value, forKey: key, in: database, options: options)
            }
        }
    }

    /// Reserves `count` bytes under `key` and lets `fill` write them in place, saving a copy
    /// (`MDB_RESERVE`). Not for `duplicateSort` databases.
    public func reserve(
        _ count: Int, forKey key: UnsafeRawBufferPointer, in database: Database,
        options: PutOptions = [], fill: (UnsafeMutableRawBufferPointer) throws -> Void
    ) throws {
        requireOpen()
        var keyValue = MDB_val(borrowing: key)
        var dataValue = MDB_val(mv_size: count, mv_data: nil)
        let flags = options.rawValue | UInt32(MDB_RESERVE)
        try check(mdb_put(pointer, database.handle, &keyValue, &dataValue, flags), "mdb_put(\(database), reserve)")
        try fill(dataValue.mutableBufferPointer)
    }

    /// Deletes `key` and its values. Returns false when there was no such key.
    @discardableResult
    public func delete(key: UnsafeRawBufferPointer, in database: Database) throws -> Bool {
        requireOpen()
        var keyValue = MDB_val(borrowing: key)
        let rc = mdb_del(pointer, database.handle, &keyValue, nil)
        if rc == MDB_NOTFOUND { return false }
        try check(rc, "mdb_del(\(database))")
        return true
    }

    /// Deletes `key` and its values, for any contiguous bytes.
    @discardableResult
    public func delete(key: some ContiguousBytes, in database: Database) throws -> Bool {
        try key.withUnsafeBytes { try delete(key: $0, in: database) }
    }

    /// Deletes every entry of `database`, keeping the database itself.
    public func removeAll(in database: Database) throws {
        requireOpen()
        try check(mdb_drop(pointer, database.handle, 0), "mdb_drop(\(database))")
    }
}
