public import Foundation
import SwiftProtobuf

/// An event as the log holds it: its envelope, and the hash of the envelope's bytes.
public struct StoredEvent: Sendable, Equatable {
    public var envelope: Tally_V1_Envelope
    /// SHA-256 of the envelope bytes as stored.
    public var hash: EventHash

    public init(envelope: Tally_V1_Envelope, hash: EventHash) {
        self.envelope = envelope
        self.hash = hash
    }

    /// Decodes a record of the `events` database (hash, then envelope; docs/FORMAT.md), for
    /// code that reads the log's databases directly, such as projections catching up.
    public init(record: UnsafeRawBufferPointer) throws {
        self = try EnvelopeCoding.decodeRecord(record)
    }

    public var sequence: UInt64 { envelope.sequence }
    public var organizationID: String { envelope.organizationID }
    public var eventType: String { envelope.eventType }
    public var payload: Data { envelope.payload }
    public var idempotencyKey: String? { envelope.idempotencyKey.isEmpty ? nil : envelope.idempotencyKey }
    public var occurredAt: Date { envelope.occurredAt.date }
    public var recordedAt: Date { envelope.recordedAt.date }
    /// The hash of the event before this one (zero for event 1).
    public var previousHash: EventHash { EventHash(envelope.previousHash) ?? .zero }
}
