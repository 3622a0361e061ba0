/// How long a billing period is, in calendar months.
public enum BillingInterval: Sendable, Hashable, Codable, CustomStringConvertible {
    case monthly
    case quarterly
    case annual
    /// Every `n` months, 1 to 120 (an enterprise contract's custom cycle).
    case everyMonths(Int)

    public var months: Int {
        switch self {
        case .monthly: 1
        case .quarterly: 3
        case .annual: 12
        case .everyMonths(let count): count
        }
    }

    public func validate() throws(BillingError) {
        guard (1...120).contains(months) else {
            throw .invalid(field: "billing_interval", rule: "must be from 1 to 120 months, got \(months)")
        }
    }

    public var description: String {
        switch self {
        case .monthly: "monthly"
        case .quarterly: "quarterly"
        case .annual: "annual"
        case .everyMonths(let count): "every \(count) months"
        }
    }
}
