/// Why the engine refused a command. Nothing was appended.
public enum EngineError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A field broke a rule.
    case invalid(field: String, rule: String)
    /// The command contradicts what the log already holds.
    case conflict(String)
    /// The command names something that does not exist.
    case notFound(String)

    public var description: String {
        switch self {
        case .invalid(let field, let rule): "\(field): \(rule)"
        case .conflict(let detail): "conflict: \(detail)"
        case .notFound(let detail): "not found: \(detail)"
        }
    }
}
