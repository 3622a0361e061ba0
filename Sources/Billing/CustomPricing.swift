public import Foundation

/// An enterprise contract for one organization: price overrides on top of a base plan, a
/// minimum commitment per period, volume discounts, a custom billing cycle and a term.
public struct CustomPricing: Sendable, Hashable, Codable {
    /// A discount on the period's spend once it reaches `threshold`. Only the highest
    /// threshold reached applies, to the whole spend (like volume pricing, not graduated).
    public struct VolumeDiscount: Sendable, Hashable, Codable {
        public var threshold: Money
        /// Percent off, greater than 0 and at most 100, such as "7.5".
        public var percentOff: ExactDecimal

        public init(threshold: Money, percentOff: ExactDecimal) {
            self.threshold = threshold
            self.percentOff = percentOff
        }
    }

    public var organizationID: String
    public var basePlanID: String
    public var currency: Currency
    public var interval: BillingInterval
    /// Replaces the plan's recurring price for `interval`; nil keeps the plan's.
    public var recurringPrice: Money?
    /// Replaces the plan's overage price, per metric name.
    public var metricPrices: [String: PriceModel]
    /// Replaces the plan's included quantity, per metric name.
    public var included: [String: Int64]
    /// The least the organization pays per period; a shortfall is billed as a true-up line.
    public var minimumCommitment: Money?
    public var volumeDiscounts: [VolumeDiscount]
    public var contractStart: Date
    public var contractEnd: Date

    public init(
        organizationID: String, basePlanID: String, currency: Currency, interval: BillingInterval,
        recurringPrice: Money? = nil, metricPrices: [String: PriceModel] = [:], included: [String: Int64] = [:],
        minimumCommitment: Money? = nil, volumeDiscounts: [VolumeDiscount] = [], contractStart: Date, contractEnd: Date
    ) {
        self.organizationID = organizationID
        self.basePlanID = basePlanID
        self.currency = currency
        self.interval = interval
        self.recurringPrice = recurringPrice
        self.metricPrices = metricPrices
        self.included = included
        self.minimumCommitment = minimumCommitment
        self.volumeDiscounts = volumeDiscounts
        self.contractStart = contractStart
        self.contractEnd = contractEnd
    }

    public func validate() throws(BillingError) {
        try interval.validate()
        guard contractStart < contractEnd else {
            throw .invalid(field: "contract_end", rule: "must be after contract_start")
        }
        for (field, amount) in [("recurring_price", recurringPrice), ("minimum_commitment", minimumCommitment)] {
            guard let amount else { continue }
            guard amount.currency == currency else { throw .currencyMismatch(currency.code, amount.currency.code) }
            guard !amount.isNegative else { throw .invalid(field: field, rule: "must not be negative, got \(amount)") }
        }
        for (name, model) in metricPrices.sorted(by: { $0.key < $1.key }) {
            try model.validate(field: "metric_prices.\(name)")
        }
        for (name, quantity) in included where quantity < 0 {
            throw .invalid(field: "included.\(name)", rule: "must not be negative, got \(quantity)")
        }
        var previous: Money?
        for (index, discount) in volumeDiscounts.enumerated() {
            let field = "volume_discounts[\(index)]"
            guard discount.threshold.currency == currency else {
                throw .currencyMismatch(currency.code, discount.threshold.currency.code)
            }
            guard discount.percentOff > .zero, discount.percentOff <= ExactDecimal(100) else {
                throw .invalid(
                    field: "\(field).percent_off",
                    rule: "must be greater than 0 and at most 100, got \(discount.percentOff)")
            }
            if let previous, discount.threshold.minorUnits <= previous.minorUnits {
                throw .invalid(
                    field: "\(field).threshold",
                    rule: "thresholds must increase, got \(discount.threshold) after \(previous)")
            }
            previous = discount.threshold
        }
    }

    /// Whether the contract covers `date` (start inclusive, end exclusive).
    public func isInEffect(at date: Date) -> Bool {
        contractStart <= date && date < contractEnd
    }

    /// The discount line for a period's `spend`: negative, or zero when no threshold is reached.
    public func volumeDiscount(on spend: Money, _ mode: RoundingMode = .halfUp) throws(BillingError) -> Money {
        guard spend.currency == currency else { throw .currencyMismatch(currency.code, spend.currency.code) }
        guard let discount = volumeDiscounts.last(where: { spend.minorUnits >= $0.threshold.minorUnits }) else {
            return .zero(currency)
        }
        let amount = try spend.decimalValue.multiplied(by: discount.percentOff).multiplied(by: ExactDecimal("0.01"))
        return try Money(rounding: amount, currency: currency, mode).negated
    }

    /// The true-up line when `spend` (after discounts) falls short of the minimum commitment.
    public func commitmentTrueUp(after spend: Money) throws(BillingError) -> Money {
        guard let minimumCommitment, spend.minorUnits < minimumCommitment.minorUnits else { return .zero(currency) }
        return try minimumCommitment.subtracting(spend)
    }
}
