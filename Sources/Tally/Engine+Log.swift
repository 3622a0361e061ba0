public import EventLog
import Foundation
import Projections

/// How much room the engine's data directory takes.
public struct StorageSize: Sendable, Equatable {
    /// The data directory.
    public var path: String
    /// Bytes of `data.mdb` on disk.
    public var fileBytes: Int
    /// Bytes LMDB's pages use: the log, its indexes and every read model.
    public var usedBytes: Int
    /// The memory map's size, the most the file may grow to before the map is grown.
    public var mapBytes: Int
}

/// The log and the read models as a whole, for the tools that inspect, export, restore or
/// rebuild them: everything an adapter needs without reaching past the engine.
extension Engine {
    /// The last event appended, or nil for an empty log.
    public func head() throws -> Checkpoint? { try log.head() }

    /// The event at `sequence`, if the log holds it.
    public func event(at sequence: UInt64) throws -> StoredEvent? { try log.event(at: sequence) }

    /// Up to `limit` of one organization's events after `sequence`, in log order.
    public func events(forOrganization organizationID: String, after sequence: UInt64 = 0, limit: Int = .max) throws
        -> [StoredEvent]
    {
        try log.events(forOrganization: organizationID, after: sequence, limit: limit)
    }

    /// Calls `body` with every event from `sequence` on, in log order, until it returns false.
    public func forEachEvent(from sequence: UInt64 = 1, batchSize: Int = 4096, _ body: (StoredEvent) throws -> Bool)
        throws
    {
        try log.forEachEvent(from: sequence, batchSize: batchSize, body)
    }

    /// Appends exported events exactly as they were (`tally restore`); returns the new head.
    @discardableResult
    public func restoreSynchronously(_ events: [EventLog.RestoredEvent]) throws -> Checkpoint? {
        try log.restoreSynchronously(events)
    }

    /// The data directory's size on disk and in use.
    public func storageSize() -> StorageSize {
        let environment = log.environment
        let attributes = try? FileManager.default.attributesOfItem(atPath: environment.path + "/data.mdb")
        return StorageSize(
            path: environment.path, fileBytes: (attributes?[.size] as? Int) ?? 0, usedBytes: environment.usedSize,
            mapBytes: environment.mapSize)
    }

    /// The data directory the engine opened.
    public var directory: String { log.environment.path }

    // MARK: Read models

    /// The names of the read models the engine keeps, in order.
    public var readModelNames: [String] { projections.names }

    /// A digest of each database of read model `name`, by database: equal digests, equal bytes.
    public func digest(ofReadModel name: String) throws -> [String: UInt64] { try projections.digest(name) }

    /// How many events a rebuild folds per write transaction by default.
    public static var rebuildBatchSize: Int { ProjectionSet.rebuildBatchSize }

    /// Rebuilds the read models `names` (every one by default) from the log while appends go
    /// on, reporting how far it has folded; readers see the old models until the switch.
    public func rebuild(
        _ names: [String]? = nil, batchSize: Int = Engine.rebuildBatchSize,
        progress: ((_ readModel: String, _ folded: UInt64) -> Void)? = nil
    ) throws {
        try projections.rebuild(names ?? projections.names, batchSize: batchSize) { step in
            progress?(step.projector, step.folded)
        }
    }
}
