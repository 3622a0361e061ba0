/// One invoice line's amount split into net, tax and gross, rounded once, per line.
///
/// Rounding rule (docs/BILLING.md): tax is computed on each line and rounded to the currency's
/// minor unit with the named mode (half-up by default), never on the invoice total; the
/// invoice's tax per rate is the sum of its lines' taxes. For a tax-inclusive price the net is
/// rounded and the tax is what remains, so net + tax is always exactly the price paid.
public struct TaxedAmount: Sendable, Hashable {
    public let net: Money
    public let tax: Money
    public let gross: Money

    /// Taxes `amount` (net when `mode` is exclusive, gross when inclusive) at `percent`.
    public init(_ amount: Money, percent: ExactDecimal, mode: TaxMode, rounding: RoundingMode = .halfUp)
        throws(BillingError)
    {
        guard !percent.isNegative, percent <= ExactDecimal(100) else {
            throw .invalid(field: "tax_percent", rule: "must be from 0 to 100, got \(percent)")
        }
        // percent = significand / 10^scale, so rate = significand / (100 × 10^scale).
        var unit: Int64 = 100
        for _ in 0..<percent.scale { unit *= 10 }
        guard let significand = Int64(exactly: percent.significand) else { throw .overflow("tax percent \(percent)") }
        switch mode {
        case .exclusive:
            net = amount
            tax = try amount.scaled(by: significand, over: unit, rounding)
            gross = try net.adding(tax)
        case .inclusive:
            gross = amount
            net = try amount.scaled(by: unit, over: unit + significand, rounding)
            tax = try gross.subtracting(net)
        }
    }

    /// An untaxed amount (reverse charge, or no rate): the tax is zero.
    public init(untaxed amount: Money) {
        net = amount
        tax = .zero(amount.currency)
        gross = amount
    }
}
