public import Foundation

/// An event as a producer hands it to the log: everything but the sequence, the recorded
/// time and the previous hash, which the log assigns when it commits.
public struct EventDraft: Sendable, Equatable {
    /// The tenant. 1 to 64 characters of `A-Z a-z 0-9 _ . : -`, starting with a letter or digit.
    public var organizationID: String
    /// A name known to the log's `EventTypeRegistry`, such as "usage.recorded".
    public var eventType: String
    /// The payload's schema version for `eventType`, from 1 to the registry's current version.
    public var schemaVersion: UInt32
    /// When the fact happened in the business.
    public var occurredAt: Date
    /// Unique per organization, forever. Nil for events that need no deduplication.
    public var idempotencyKey: String?
    public var actor: String
    public var correlationID: String
    public var causationID: String
    /// The serialized event body. Never empty.
    public var payload: Data

    public init(
        organizationID: String,
        eventType: String,
        schemaVersion: UInt32 = 1,
        occurredAt: Date,
        idempotencyKey: String? = nil,
        actor: String = "",
        correlationID: String = "",
        causationID: String = "",
        payload: Data
    ) {
        self.organizationID = organizationID
        self.eventType = eventType
        self.schemaVersion = schemaVersion
        self.occurredAt = occurredAt
        self.idempotencyKey = idempotencyKey
        self.actor = actor
        self.correlationID = correlationID
        self.causationID = causationID
        self.payload = payload
    }
}
