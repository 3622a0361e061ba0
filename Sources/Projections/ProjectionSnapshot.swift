public import EventLog
public import Foundation
import LMDB

/// Read models as of an earlier point of the log, built apart from the live ones (time travel
/// for analysts): the log's events up to that point, folded into a scratch environment in a
/// temporary directory that is deleted with the snapshot.
public final class ProjectionSnapshot: Sendable {
    /// The last sequence folded in.
    public let sequence: UInt64
    public let projections: ProjectionSet
    private let directory: String

    /// Folds events 1 through `sequence` of `log` into fresh copies of `projectors`: the read
    /// models as the log stood after event `sequence`.
    public convenience init(
        of log: EventLog, asOf sequence: UInt64, projectors: [any Projector], batchSize: Int = 50_000
    ) throws {
        try self.init(
            of: log, through: sequence, projectors: projectors, batchSize: batchSize, including: { _ in true })
    }

    /// Folds, in log order, the events that occurred at or before `date` (late arrivals
    /// included, later events left out): the business as it stood at `date`, as far as the
    /// log knows it now.
    public convenience init(
        of log: EventLog, occurredAtOrBefore date: Date, projectors: [any Projector], batchSize: Int = 50_000
    ) throws {
        try self.init(
            of: log, through: try log.head()?.sequence ?? 0, projectors: projectors, batchSize: batchSize,
            including: { $0.occurredAt <= date })
    }

    private init(
        of log: EventLog, through requested: UInt64, projectors: [any Projector], batchSize: Int,
        including: (StoredEvent) -> Bool
    ) throws {
        // Where the fold will end, known before it starts (events appended meanwhile stay out).
        let sequence = min(requested, try log.head()?.sequence ?? 0)
        directory =
            FileManager.default.temporaryDirectory.appendingPathComponent("tally-as-of-\(UUID().uuidString)").path
        var options = EnvironmentOptions()
        options.durability = .noSync  // scratch data: nothing to lose
        options.mapSize = max(1 << 26, log.environment.usedSize)
        let environment = try Environment.open(at: directory, options: options)
        let projections = try ProjectionSet(environment: environment, projectors: projectors)
        self.projections = projections
        var next: UInt64 = 1
        var folded: UInt64 = 0
        let cache = WriteBackCache()
        // The records of the last events folded that a projection may still read from the log
        // (`Projector.logRecordsRead`: a journal of sequences), kept beside the read models.
        let recordsRead = projectors.map(\.logRecordsRead).max() ?? 0
        let firstRecordKept = sequence > recordsRead ? sequence - recordsRead + 1 : 1
        let sourceEvents = try log.environment.database(named: EventLog.eventsDatabaseName)
        while next <= sequence {
            let events = try log.events(from: next, limit: Int(min(UInt64(batchSize), sequence - next + 1)))
            guard let last = events.last else { break }
            let included = events.filter { $0.sequence <= sequence && including($0) }
            folded = min(last.sequence, sequence)
            try environment.write(retaining: cache) { txn in
                try projections.foldSnapshot(
                    included, checkpoint: folded, last: sequence, in: txn, cache: cache, retaining: true)
                let kept = included.lazy.map(\.sequence).filter { $0 >= firstRecordKept }
                guard recordsRead > 0, !kept.isEmpty else { return }
                try log.environment.read { source in
                    try LogRecords.forEach(at: Array(kept), in: sourceEvents, through: source) { sequence, record in
                        guard let record else { return }
                        try withUnsafeBytes(of: sequence.bigEndian) { key in
                            try txn.put(record, forKey: key, in: projections.eventsDatabase, options: .append)
                        }
                    }
                }
            }
            next = last.sequence + 1
            // Memory must not grow with the log: let go of the pages of both files read so far.
            log.environment.releaseMappedPages()
            environment.releaseMappedPages()
        }
        self.sequence = folded
    }

    /// The first sequence recorded after `date`, minus one: the log as it stood at `date`.
    /// Events of one commit share their recorded time, so a commit is all in or all out.
    public static func sequence(of log: EventLog, recordedAtOrBefore date: Date) throws -> UInt64 {
        var answer: UInt64 = 0
        try log.forEachEvent { event in
            guard event.recordedAt <= date else { return false }
            answer = event.sequence
            return true
        }
        return answer
    }

    deinit {
        try? FileManager.default.removeItem(atPath: directory)
    }
}
