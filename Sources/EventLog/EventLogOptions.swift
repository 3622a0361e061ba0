public import Foundation
public import LMDB

/// How an event log is opened and what it accepts.
public struct EventLogOptions: Sendable {
    /// The event types appends may use.
    public var registry: EventTypeRegistry
    /// Map size, durability and the like. `durability` is the speed/safety trade:
    /// `.durable` (the default) returns from an append only after its commit is on disk.
    public var environment: EnvironmentOptions
    /// How far past the log's clock an `occurredAt` may lie (producers' clocks drift).
    public var maximumFutureSkew: TimeInterval = 24 * 3600
    /// The earliest acceptable `occurredAt`.
    public var earliestOccurredAt = Date(timeIntervalSince1970: 946_684_800)  // 2000-01-01T00:00:00Z
    /// The largest payload accepted, in bytes.
    public var maximumPayloadBytes = 1 << 20
    /// The most events one group commit gathers before it commits.
    public var maximumEventsPerCommit = 16_384
    /// Where `recordedAt` comes from. Tests and imports may substitute their own clock.
    public var clock: @Sendable () -> Date = { Date() }
    /// Runs inside every append transaction for each event appended (projections).
    public var observer: (any AppendObserver)?
    /// Create the log when the directory holds none. When false, opening a missing log throws.
    public var createIfMissing = true

    public init(registry: EventTypeRegistry = .init(), environment: EnvironmentOptions = .init()) {
        self.registry = registry
        self.environment = environment
    }
}
