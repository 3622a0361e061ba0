/// What `EventLog.verify` found.
public struct VerificationReport: Sendable, Equatable {
    /// Events whose hash, link and envelope were checked.
    public var eventsChecked: UInt64
    /// The last event reached, or nil for an empty log.
    public var head: Checkpoint?
    /// The first problem, or nil when the log is intact.
    public var failure: VerificationFailure?

    public var isIntact: Bool { failure == nil }
}

/// The first place where a log is not what its hash chain says it must be.
public struct VerificationFailure: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Reason: String, Sendable {
        /// The stored hash is not the SHA-256 of the stored envelope: the envelope was altered.
        case hashMismatch = "hash mismatch"
        /// The envelope's previous_hash is not the previous event's hash: an event was
        /// altered, replaced, reordered or removed before this one.
        case brokenLink = "broken link"
        /// A sequence is missing: an event was removed.
        case gap
        /// The bytes do not decode as an envelope.
        case undecodable = "undecodable envelope"
        /// The envelope's sequence is not its key.
        case sequenceMismatch = "sequence mismatch"
        /// A key or record has an impossible shape.
        case malformedRecord = "malformed record"
        /// The trusted checkpoint's event is missing or has another hash.
        case checkpointMismatch = "checkpoint mismatch"
        /// The log ends before the recorded head, or differs from it: events were removed from the end.
        case truncated
    }

    /// The first bad sequence.
    public var sequence: UInt64
    public var reason: Reason
    public var detail: String

    public var description: String { "event \(sequence): \(reason.rawValue): \(detail)" }
}
