import EventLog
import Foundation
public import LMDB

/// A projection's databases inside one read transaction, for queries.
public struct ProjectionReader {
    public let transaction: Transaction
    let handles: DatabaseHandles

    public func database(_ name: String) -> Database { handles.database(name) }

    /// Calls `body` with the stored record (hash, then envelope) of each of the log's events
    /// `sequences` (ascending), or nil for one the log lacks, valid only inside `body`. Through
    /// one cursor: a run of sequences lies side by side, where a lookup each would search from
    /// the root.
    public func forEachLogRecord(
        at sequences: [UInt64], _ body: (_ sequence: UInt64, _ record: UnsafeRawBufferPointer?) throws -> Void
    ) throws {
        try LogRecords.forEach(at: sequences, in: handles.events, through: transaction, body)
    }
}

/// One slot's databases by declared name. A projector has a handful, looked up for every
/// event: comparing a few short names beats hashing one.
struct DatabaseHandles: Sendable {
    let entries: [(name: String, database: Database)]
    /// The log's `events` database, in the same environment.
    let events: Database

    init(_ databases: [String: Database], events: Database) {
        entries = databases.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        self.events = events
    }

    func database(_ name: String) -> Database {
        for entry in entries where entry.name == name { return entry.database }
        preconditionFailure("the projector did not declare a database named \(name)")
    }
}
