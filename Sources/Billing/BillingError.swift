/// Why a billing computation refused its input. Each case names the field and the rule.
public enum BillingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A value broke a rule: `field` names it as the caller knows it.
    case invalid(field: String, rule: String)
    /// Two amounts in different currencies were combined.
    case currencyMismatch(String, String)
    /// A result does not fit in 64-bit minor units (or the decimal's 38 digits).
    case overflow(String)
    /// A subscription cannot take `action` in its current `status` (e.g. "reactivate", "canceled").
    case illegalTransition(action: String, status: String)

    public var description: String {
        switch self {
        case .invalid(let field, let rule): "\(field): \(rule)"
        case .currencyMismatch(let left, let right):
            "cannot combine \(left) with \(right): amounts must be in one currency"
        case .overflow(let what): "overflow: \(what) does not fit"
        case .illegalTransition(let action, let status): "cannot \(action) a subscription that is \(status)"
        }
    }
}
