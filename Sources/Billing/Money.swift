/// An amount of one currency in integer minor units: cents for USD, yen for JPY, fils for KWD.
///
/// Never floating point. Arithmetic checks the currency and overflow and throws rather than
/// wrap or mix currencies. Decimal amounts (a unit price times a quantity) become `Money`
/// only through `init(rounding:currency:_:)`, which names its rounding mode.
public struct Money: Sendable, Hashable, Codable, CustomStringConvertible {
    public let minorUnits: Int64
    public let currency: Currency

    public init(minorUnits: Int64, currency: Currency) {
        self.minorUnits = minorUnits
        self.currency = currency
    }

    public static func zero(_ currency: Currency) -> Money {
        Money(minorUnits: 0, currency: currency)
    }

    /// Parses an amount in major units, such as "12.34" USD or "500" JPY.
    /// - Throws: `BillingError.invalid` naming `field` when the text is not a decimal or has
    ///   more decimal places than the currency's minor unit (no silent rounding).
    public init(_ text: String, currency: Currency, field: String = "amount") throws(BillingError) {
        let value = try ExactDecimal(text, field: field)
        guard value.normalized.scale <= currency.exponent else {
            throw .invalid(
                field: field,
                rule: "\(currency) amounts have at most \(currency.exponent) decimal places, got \"\(text)\"")
        }
        try self.init(exactly: value, currency: currency)
    }

    /// Converts an amount in major units, rounding it to the currency's minor unit with `mode`.
    public init(rounding amount: ExactDecimal, currency: Currency, _ mode: RoundingMode) throws(BillingError) {
        try self.init(exactly: amount.rounded(toScale: currency.exponent, mode), currency: currency)
    }

    private init(exactly amount: ExactDecimal, currency: Currency) throws(BillingError) {
        let minor = try amount.rounded(toScale: currency.exponent, .down).significand
        guard let units = Int64(exactly: minor) else { throw .overflow("\(amount) \(currency)") }
        self.init(minorUnits: units, currency: currency)
    }

    /// The amount in major units, exactly.
    public var decimalValue: ExactDecimal {
        ExactDecimal(significand: Int128(minorUnits), scale: currency.exponent)
    }

    public var isNegative: Bool { minorUnits < 0 }
    public var isZero: Bool { minorUnits == 0 }

    public func adding(_ other: Money) throws(BillingError) -> Money {
        guard currency == other.currency else { throw .currencyMismatch(currency.code, other.currency.code) }
        let (sum, overflow) = minorUnits.addingReportingOverflow(other.minorUnits)
        guard !overflow else { throw .overflow("\(self) + \(other)") }
        return Money(minorUnits: sum, currency: currency)
    }

    public func subtracting(_ other: Money) throws(BillingError) -> Money {
        guard currency == other.currency else { throw .currencyMismatch(currency.code, other.currency.code) }
        let (difference, overflow) = minorUnits.subtractingReportingOverflow(other.minorUnits)
        guard !overflow else { throw .overflow("\(self) - \(other)") }
        return Money(minorUnits: difference, currency: currency)
    }

    public func multiplied(by factor: Int64) throws(BillingError) -> Money {
        let (product, overflow) = minorUnits.multipliedReportingOverflow(by: factor)
        guard !overflow else { throw .overflow("\(self) × \(factor)") }
        return Money(minorUnits: product, currency: currency)
    }

    public var negated: Money {
        Money(minorUnits: -minorUnits, currency: currency)
    }

    /// `self × numerator ÷ denominator`, rounded once to the minor unit with `mode`: the
    /// exact fraction of an amount, as proration needs (price × remaining ÷ whole period).
    public func scaled(by numerator: Int64, over denominator: Int64, _ mode: RoundingMode) throws(BillingError) -> Money
    {
        guard denominator > 0 else {
            throw .invalid(field: "denominator", rule: "must be positive, got \(denominator)")
        }
        let exact = Int128(minorUnits) * Int128(numerator)  // cannot overflow: 63 + 63 bits
        guard let units = Int64(exactly: mode.divide(exact, by: Int128(denominator))) else {
            throw .overflow("\(self) × \(numerator) ÷ \(denominator)")
        }
        return Money(minorUnits: units, currency: currency)
    }

    /// "USD 12.34", "JPY 500", "KWD -1.234".
    public var description: String { "\(currency.code) \(decimalValue)" }
}
