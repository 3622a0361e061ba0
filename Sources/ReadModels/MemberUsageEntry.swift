import EventLog

/// What one usage event does to a rollup cell.
enum UsageChange: Equatable {
    /// Usage recorded: `quantity` at `at` (nanoseconds since 1970).
    case record(Int64, at: Int64)
    /// A correction of earlier usage by `delta`.
    case correct(Int64)

    func apply(to rollup: inout UsageRollup) {
        switch self {
        case .record(let quantity, let at): rollup.record(quantity, at: at)
        case .correct(let delta): rollup.correct(by: delta)
        }
    }
}

/// A usage event's change to its day's, user's and resource's cells (`UsageRollupsProjector`):
/// which cells, on which day, and how. The bytes are views into the event (its record in the
/// log, or strings on the stack), valid only while those are.
struct MemberUsageEntry {
    var change: UsageChange
    var day: Int32
    var organization: UnsafeRawBufferPointer
    var metric: UnsafeRawBufferPointer
    var user: UnsafeRawBufferPointer
    var resource: UnsafeRawBufferPointer
}
