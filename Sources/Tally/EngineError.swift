/// Why the engine refused a command. Nothing was appended.
public enum EngineError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A field broke a rule.
    case invalid(field: String, rule: String)
    /// The command contradicts what the log already holds.
    case conflict(String)
    /// The command names something that does not exist.
    case notFound(String)
    /// The usage would take the metric past its hard limit for the period.
    case quotaExceeded(metric: String, limit: Int64, usage: Int64)

    public var description: String {
        switch self {
        case .invalid(let field, let rule): "\(field): \(rule)"
        case .conflict(let detail): "conflict: \(detail)"
        case .notFound(let detail): "not found: \(detail)"
        case .quotaExceeded(let metric, let limit, let usage):
            "quota exceeded: \(metric) is at \(usage) of its hard limit \(limit) this period"
        }
    }
}
