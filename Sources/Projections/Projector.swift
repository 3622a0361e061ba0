public import EventLog
public import LMDB

/// A read model folded from the log: pure, deterministic, reading events only (no clock, no
/// randomness, no I/O), so folding the same events always writes the same bytes.
public protocol Projector: Sendable {
    /// Unique among projectors; 1 to 32 of a-z 0-9 _. Names its databases.
    var name: String { get }
    /// Bump it whenever `apply` changes what it writes: the projection is then rebuilt.
    var version: UInt32 { get }
    /// The event types `apply` reads; every other event only advances the checkpoint.
    var eventTypes: Set<String> { get }
    /// The databases the projection keeps, by name, with their options.
    var databases: [String: DatabaseOptions] { get }
    /// Folds one event into the projection's databases.
    func apply(_ event: StoredEvent, to store: ProjectionStore) throws
}

/// A projection's databases inside one write transaction, as `apply` sees them. Projectors
/// read and write only through it, never through the transaction itself, so that how writes
/// reach LMDB stays the projection machinery's business.
public struct ProjectionStore {
    let transaction: WriteTransaction
    let handles: DatabaseHandles

    /// The database the projector declared as `name`.
    public func database(_ name: String) -> Database { handles.database(name) }

    public func value(forKey key: [UInt8], in database: Database) throws -> [UInt8]? {
        try transaction.value(forKey: key, in: database)
    }

    /// Calls `body` with the value of `key` in place (valid only inside `body`), or nil.
    public func withValue<R>(forKey key: [UInt8], in database: Database, _ body: (UnsafeRawBufferPointer?) throws -> R) throws -> R {
        try key.withUnsafeBytes { try transaction.withValue(forKey: $0, in: database, body) }
    }

    public func put(_ value: [UInt8], forKey key: [UInt8], in database: Database) throws {
        try transaction.put(value, forKey: key, in: database)
    }

    /// Stores `count` bytes under `key`, written in place by `fill`: no intermediate array.
    public func put(_ count: Int, forKey key: [UInt8], in database: Database, fill: (UnsafeMutableRawBufferPointer) throws -> Void) throws {
        try key.withUnsafeBytes { try transaction.reserve(count, forKey: $0, in: database, fill: fill) }
    }

    public func delete(key: [UInt8], in database: Database) throws {
        _ = try transaction.delete(key: key, in: database)
    }
}

/// A projection's databases inside one read transaction, for queries.
public struct ProjectionReader {
    public let transaction: Transaction
    let handles: DatabaseHandles

    public func database(_ name: String) -> Database { handles.database(name) }
}

/// One slot's databases by declared name. A projector has a handful, looked up for every
/// event: comparing a few short names beats hashing one.
struct DatabaseHandles: Sendable {
    let entries: [(name: String, database: Database)]

    init(_ databases: [String: Database]) {
        entries = databases.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    func database(_ name: String) -> Database {
        for entry in entries where entry.name == name { return entry.database }
        preconditionFailure("the projector did not declare a database named \(name)")
    }
}
