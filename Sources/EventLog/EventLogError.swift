/// Why the log refused an append, or found itself unusable.
///
/// Storage failures arrive as `LMDBError` from the LMDB module, unchanged.
public enum EventLogError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A field of an event broke a rule. Nothing was appended.
    case invalidEvent(EventValidationError)
    /// The (organization, idempotency key) already names an event with a different
    /// type or payload. Nothing was appended.
    case idempotencyConflict(organizationID: String, idempotencyKey: String, originalSequence: UInt64)
    /// The directory holds something other than a Tally log of a version this build reads.
    case unsupportedFormat(String)
    /// There is no log at the path (opened without permission to create one).
    case noLog(path: String)
    /// A restored event does not continue the log: wrong sequence, broken link or hash,
    /// or a reused idempotency key. Nothing of its batch was written.
    case restoreMismatch(sequence: UInt64, reason: String)

    public var description: String {
        switch self {
        case .invalidEvent(let error):
            error.description
        case .idempotencyConflict(let organization, let key, let sequence):
            "idempotency_key \"\(key)\" of organization \"\(organization)\" was already used by event \(sequence) with a different event type or payload"
        case .unsupportedFormat(let detail):
            "unsupported log format: \(detail)"
        case .noLog(let path):
            "no Tally log at \(path) (no data.mdb there)"
        case .restoreMismatch(let sequence, let reason):
            "event \(sequence) cannot be restored: \(reason)"
        }
    }
}

/// The field and the rule an event broke.
public struct EventValidationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The envelope field, named as in the schema (`organization_id`, `payload`, ...).
    public var field: String
    /// The rule it broke, in words.
    public var rule: String
    /// The event's position in its batch, counting from 0; nil for a single append.
    public var index: Int?

    public init(field: String, rule: String, index: Int? = nil) {
        self.field = field
        self.rule = rule
        self.index = index
    }

    public var description: String {
        let position = index.map { "event \($0) of the batch: " } ?? ""
        return "\(position)\(field): \(rule)"
    }
}
