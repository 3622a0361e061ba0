/// What an append returns for each event: where it is in the log.
public struct AppendReceipt: Sendable, Hashable {
    /// The event's sequence; for a duplicate, the sequence of the original.
    public var sequence: UInt64
    /// True when the (organization, idempotency key) was already in the log, so nothing
    /// was appended for this event.
    public var isDuplicate: Bool

    public init(sequence: UInt64, isDuplicate: Bool) {
        self.sequence = sequence
        self.isDuplicate = isDuplicate
    }
}
