public import EventLog
import Foundation
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
    /// The event types `applyInPlace` may fold, on append and rebuild (none by default).
    var inPlaceEventTypes: Set<String> { get }
    /// Folds an event read in place from its record, exactly as `apply` would fold it, and
    /// returns true; or, having written nothing, returns false to have `apply` fold it instead.
    /// Appends and rebuilds use it for the few event types that fill most logs (usage).
    func applyInPlace(_ event: EventRecordView, to store: ProjectionStore) throws -> Bool
    /// Called once the fold has reached `sequence`, or before a fold that will reach it before
    /// anyone reads the projection: at each append commit, with the log's new head; before
    /// each catch-up or snapshot fold, with the last sequence it will fold; before each rebuild
    /// batch, with the head the rebuild will reach before its slots go live (a batch that a
    /// rebuild lane folds ahead, for the same head as the batch before it, is not told again:
    /// telling a projector the same sequence twice must change nothing). For projections
    /// that defer part of their work (a journal merged in blocks), so that what they hold
    /// after `sequence` depends on the events up to it only, never on how they were batched.
    /// Does nothing by default.
    func settle(through sequence: UInt64, in store: ProjectionStore) throws
    /// Whether `settle` may write (false by default, for a projector that does not implement it).
    var settles: Bool { get }
    /// How far back from the last sequence folded the projection may read the log's own
    /// records (`ProjectionStore.forEachLogRecord`, `ProjectionReader.forEachLogRecord`): a journal
    /// of sequences whose events it has not merged yet. 0 by default (it reads none). An as-of
    /// snapshot keeps that many of its last events' records beside its read models.
    var logRecordsRead: UInt64 { get }
}

extension Projector {
    /// Whether every write can be held in a write-back cache: none of its databases is
    /// duplicate-sorted (those write straight through, and cannot leave a rebuild's batch thread).
    var writesCanBeHeld: Bool { databases.values.allSatisfy(\.isEmpty) }
}

extension Projector {
    public var inPlaceEventTypes: Set<String> { [] }
    public func applyInPlace(_ event: EventRecordView, to store: ProjectionStore) throws -> Bool { false }
    public func settle(through sequence: UInt64, in store: ProjectionStore) throws {}
    public var settles: Bool { false }
    public var logRecordsRead: UInt64 { 0 }
}
