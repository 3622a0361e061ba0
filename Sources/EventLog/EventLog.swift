import Foundation
public import LMDB
public import Logging
import Synchronization

/// The append-only, hash-chained event log: the only source of truth of a Tally deployment.
///
/// ```swift
/// var registry = EventTypeRegistry()
/// registry.register("usage.recorded")
/// let log = try EventLog(directory: "./tally-data", options: .init(registry: registry))
/// let receipt = try await log.append(EventDraft(
///     organizationID: "org_42", eventType: "usage.recorded", occurredAt: .now,
///     idempotencyKey: "req-7f3a", payload: usageBytes))
/// let report = try log.verify()   // walks the hash chain
/// ```
///
/// Services call the async `append` from many tasks at once: concurrent appends are gathered
/// into one write transaction (group commit) and each caller resumes once that commit is
/// durable. Tools and imports call `appendSynchronously`.
public final class EventLog: Sendable {
    /// The LMDB environment the log lives in; read models may keep their databases in it too.
    public let environment: Environment
    public let options: EventLogOptions
    let logger: Logger
    let databases: LogDatabases
    let pendingAppends = Mutex(PendingAppends())
    private let streamedCount = Atomic<Int>(0)

    /// How many streamed requests (`append(streaming:)`) were decided on a second core while
    /// their events were appended, commits and retries alike (for tests and reports).
    public var requestsStreamed: Int { streamedCount.load(ordering: .relaxed) }

    func countStreamedRequest() {
        streamedCount.add(1, ordering: .relaxed)
    }

    /// The format this build writes; see docs/FORMAT.md.
    public static let formatName = "tally.event-log"
    public static let formatVersion = 1
    /// The name of the database holding the events (docs/FORMAT.md).
    public static let eventsDatabaseName = "events"

    /// Opens the log in `directory`, creating it (unless `options.createIfMissing` is false).
    public init(
        directory: String, options: EventLogOptions = .init(),
        logger: Logger = Logger(label: "tally.event-log")
    ) throws {
        if !options.createIfMissing && !FileManager.default.fileExists(atPath: directory + "/data.mdb") {
            throw EventLogError.noLog(path: directory)
        }
        self.options = options
        self.logger = logger
        environment = try Environment.open(at: directory, options: options.environment)
        if environment.staleReadersCleared > 0 {
            logger.notice(
                "cleared reader slots left by dead processes", metadata: ["count": "\(environment.staleReadersCleared)"]
            )
        }
        do {
            databases = try LogDatabases(environment: environment)
        } catch let error as LMDBError where error.code == .notFound {
            throw EventLogError.unsupportedFormat(
                "\(directory) holds an LMDB environment without Tally's databases (\(error.operation))")
        }
        try checkFormat()
    }

    /// Checks the `meta` database names our format, writing it into a new log.
    private func checkFormat() throws {
        let meta = databases.meta
        let stored = try environment.read { txn in
            (
                try txn.value(forKey: Array("format".utf8), in: meta),
                try txn.value(forKey: Array("format_version".utf8), in: meta),
                try txn.entryCount(in: databases.events)
            )
        }
        switch stored {
        case (nil, _, 0):
            guard !options.environment.readOnly else { throw EventLogError.noLog(path: environment.path) }
            try environment.write { txn in
                // Another process may have created it between our read and this write.
                guard try txn.value(forKey: Array("format".utf8), in: meta) == nil else { return }
                try txn.put(Array(Self.formatName.utf8), forKey: Array("format".utf8), in: meta)
                try txn.put(Array(String(Self.formatVersion).utf8), forKey: Array("format_version".utf8), in: meta)
                try txn.put(Array(lmdbLibraryVersion.utf8), forKey: Array("lmdb_version".utf8), in: meta)
            }
            if try environment.read({ try $0.value(forKey: Array("format".utf8), in: meta) })
                != Array(Self.formatName.utf8)
            {
                throw EventLogError.unsupportedFormat("meta.format is not \(Self.formatName)")
            }
        case (let name?, let version?, _):
            guard name == Array(Self.formatName.utf8) else {
                throw EventLogError.unsupportedFormat(
                    "meta.format is \"\(String(decoding: name, as: UTF8.self))\", expected \"\(Self.formatName)\"")
            }
            guard let number = Int(String(decoding: version, as: UTF8.self)), number <= Self.formatVersion else {
                throw EventLogError.unsupportedFormat(
                    "meta.format_version is \(String(decoding: version, as: UTF8.self)); this build reads up to \(Self.formatVersion)"
                )
            }
        default:
            throw EventLogError.unsupportedFormat("the events database has entries but meta names no format")
        }
    }
}

/// The named databases of a log (docs/FORMAT.md).
struct LogDatabases: Sendable {
    let events: Database
    let idempotency: Database
    let organizationEvents: Database
    let meta: Database

    init(environment: Environment) throws {
        events = try environment.database(named: EventLog.eventsDatabaseName)
        idempotency = try environment.database(named: "idempotency")
        organizationEvents = try environment.database(
            named: "organization_events", options: [.duplicateSort, .duplicateFixed])
        meta = try environment.database(named: "meta")
    }
}
