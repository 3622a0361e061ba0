public import LMDB

/// What a deciding append's closure may look at: the log's head and a read-only view of the
/// write transaction the events will be appended in, including everything earlier requests of
/// the same group commit wrote. Valid only while the closure runs.
public struct AppendDecision: ~Copyable {
    /// The last event appended before this request, or nil for an empty log.
    public let head: Checkpoint?
    /// Reads through the append's write transaction: read models here are exactly as current
    /// as the log.
    public let transaction: Transaction
}
