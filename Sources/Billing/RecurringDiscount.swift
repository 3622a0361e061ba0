/// A discount on a subscription's recurring fee for a number of billing periods (Stripe's
/// coupon with a "repeating" or "forever" duration): percent off or a fixed amount off,
/// never more than the fee. It lowers MRR while it lasts; its end is an expansion.
public struct RecurringDiscount: Sendable, Hashable, Codable {
    public enum Value: Sendable, Hashable, Codable {
        /// Greater than 0 and at most 100, such as 12.5.
        case percentOff(ExactDecimal)
        case amountOff(Money)
    }

    public var id: String
    public var value: Value
    /// Billing periods it still applies to, the current one included; nil: for good.
    public var periodsLeft: Int?

    public init(id: String, value: Value, periods: Int?) {
        self.id = id
        self.value = value
        self.periodsLeft = periods
    }

    public func validate(currency: Currency) throws(BillingError) {
        guard !id.isEmpty, id.count <= 64 else {
            throw .invalid(field: "discount_id", rule: "must be 1 to 64 characters")
        }
        switch value {
        case .percentOff(let percent):
            guard percent > .zero, percent <= ExactDecimal(100) else {
                throw .invalid(field: "percent_off", rule: "must be greater than 0 and at most 100, got \(percent)")
            }
        case .amountOff(let amount):
            guard amount.currency == currency else { throw .currencyMismatch(currency.code, amount.currency.code) }
            guard amount.minorUnits > 0 else {
                throw .invalid(field: "amount_off", rule: "must be greater than zero, got \(amount)")
            }
        }
        if let periodsLeft, !(1...120).contains(periodsLeft) {
            throw .invalid(field: "periods", rule: "must be from 1 to 120, or forever, got \(periodsLeft)")
        }
    }

    /// What it takes off `fee` (zero or positive, never more than the fee): percent off is
    /// rounded half up to the minor unit.
    public func amount(on fee: Money) throws(BillingError) -> Money {
        let off: Money
        switch value {
        case .percentOff(let percent):
            off = try Money(
                rounding: try fee.decimalValue.multiplied(by: percent).multiplied(by: ExactDecimal("0.01")),
                currency: fee.currency, .halfUp)
        case .amountOff(let amount):
            guard amount.currency == fee.currency else {
                throw .currencyMismatch(fee.currency.code, amount.currency.code)
            }
            off = amount
        }
        return off.minorUnits > fee.minorUnits ? fee : off
    }

    /// The fee after the discount.
    public func discounted(_ fee: Money) throws(BillingError) -> Money {
        try fee.subtracting(try amount(on: fee))
    }

    /// "20% off" or "USD 10.00 off".
    public var description: String {
        switch value {
        case .percentOff(let percent): "\(percent)% off"
        case .amountOff(let amount): "\(amount) off"
        }
    }

    /// After a period closes: one period fewer left, or nil once none is.
    public func afterPeriod() -> RecurringDiscount? {
        guard let periodsLeft else { return self }
        guard periodsLeft > 1 else { return nil }
        var next = self
        next.periodsLeft = periodsLeft - 1
        return next
    }
}
