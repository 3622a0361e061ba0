/// A plan customers subscribe to: its tier, recurring prices, trial, features, and per-metric
/// included quantities, prices and limits.
public struct Plan: Sendable, Hashable, Codable {
    public enum Tier: String, Sendable, Hashable, Codable, CaseIterable {
        case free, professional, enterprise, custom
    }

    /// What a plan says about one metric.
    public struct MetricTerms: Sendable, Hashable, Codable {
        public var metric: Metric
        /// Usage up to this quantity per period is part of the recurring price.
        public var included: Int64
        /// How usage above `included` is charged; nil: it is not sold, only limited.
        public var overagePrice: PriceModel?
        /// Crossing it notifies (a soft limit reached event); usage is still accepted.
        public var softLimit: Int64?
        /// Usage past it is refused.
        public var hardLimit: Int64?

        public init(
            metric: Metric, included: Int64 = 0, overagePrice: PriceModel? = nil, softLimit: Int64? = nil,
            hardLimit: Int64? = nil
        ) {
            self.metric = metric
            self.included = included
            self.overagePrice = overagePrice
            self.softLimit = softLimit
            self.hardLimit = hardLimit
        }
    }

    /// Lowercase letters, digits, `_` and `-`; at most 64.
    public var id: String
    public var name: String
    public var tier: Tier
    public var currency: Currency
    /// The price per month when billed monthly; nil when the plan has no monthly option.
    public var monthlyPrice: Money?
    /// The price per year when billed annually; nil when the plan has no annual option.
    public var annualPrice: Money?
    public var trialDays: Int
    /// Feature flags the plan grants, such as "sso" or "audit_log".
    public var features: Set<String>
    /// Terms per metric name.
    public var metrics: [String: MetricTerms]

    public init(
        id: String, name: String, tier: Tier, currency: Currency, monthlyPrice: Money?, annualPrice: Money?,
        trialDays: Int = 0, features: Set<String> = [], metrics: [MetricTerms] = []
    ) {
        self.id = id
        self.name = name
        self.tier = tier
        self.currency = currency
        self.monthlyPrice = monthlyPrice
        self.annualPrice = annualPrice
        self.trialDays = trialDays
        self.features = features
        self.metrics = Dictionary(metrics.map { ($0.metric.name, $0) }, uniquingKeysWith: { _, last in last })
    }

    /// The recurring price for `interval`: the monthly price times months for monthly, quarterly
    /// and custom intervals, the annual price for annual billing.
    public func recurringPrice(for interval: BillingInterval) throws(BillingError) -> Money {
        if case .annual = interval, let annualPrice { return annualPrice }
        guard let monthlyPrice else {
            throw .invalid(field: "billing_interval", rule: "plan \(id) has no \(interval) price")
        }
        return try monthlyPrice.multiplied(by: Int64(interval.months))
    }

    /// Throws the first rule the plan breaks, naming the field.
    public func validate() throws(BillingError) {
        let idBytes = Array(id.utf8)
        guard (1...64).contains(idBytes.count),
            idBytes.allSatisfy({
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0)
                    || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0)
                    || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-")
            })
        else {
            throw .invalid(field: "plan.id", rule: "must be 1 to 64 of a-z 0-9 _ -, got \"\(id.prefix(80))\"")
        }
        guard !name.isEmpty, name.utf8.count <= 128 else {
            throw .invalid(field: "plan.name", rule: "must be 1 to 128 bytes")
        }
        guard monthlyPrice != nil || annualPrice != nil else {
            throw .invalid(field: "plan.price", rule: "a plan needs a monthly or an annual price (0 for free plans)")
        }
        for (field, price) in [("plan.monthly_price", monthlyPrice), ("plan.annual_price", annualPrice)] {
            guard let price else { continue }
            guard price.currency == currency else { throw .currencyMismatch(currency.code, price.currency.code) }
            guard !price.isNegative else { throw .invalid(field: field, rule: "must not be negative, got \(price)") }
        }
        guard (0...365).contains(trialDays) else {
            throw .invalid(field: "plan.trial_days", rule: "must be from 0 to 365, got \(trialDays)")
        }
        for feature in features where !Metric.isWellFormedName(feature) {
            throw .invalid(
                field: "plan.features",
                rule: "feature names are 1 to 64 of a-z 0-9 _ starting with a letter, got \"\(feature.prefix(80))\"")
        }
        for (name, terms) in metrics.sorted(by: { $0.key < $1.key }) {
            let field = "plan.metrics.\(name)"
            guard terms.included >= 0 else {
                throw .invalid(field: "\(field).included", rule: "must not be negative, got \(terms.included)")
            }
            try terms.overagePrice?.validate(field: "\(field).price")
            if let soft = terms.softLimit, soft < 0 {
                throw .invalid(field: "\(field).soft_limit", rule: "must not be negative, got \(soft)")
            }
            if let hard = terms.hardLimit, hard < 0 {
                throw .invalid(field: "\(field).hard_limit", rule: "must not be negative, got \(hard)")
            }
            if let soft = terms.softLimit, let hard = terms.hardLimit, soft > hard {
                throw .invalid(
                    field: "\(field).soft_limit", rule: "must not exceed the hard limit (\(hard)), got \(soft)")
            }
        }
    }
}
