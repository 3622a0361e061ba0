/// How much of an invoice a credit note takes back, and the tax part of it.
///
/// The tax part is the invoice's tax in proportion, `amount × tax ÷ total`, rounded with a
/// named mode (half up by default); a credit note that takes back the rest of the invoice
/// takes the rest of its tax instead, so an invoice's credit notes always add up to exactly
/// its total and its tax.
public struct CreditNoteAmounts: Sendable, Hashable {
    /// Tax included.
    public let amount: Money
    public let tax: Money
    public var net: Money { Money(minorUnits: amount.minorUnits - tax.minorUnits, currency: amount.currency) }

    /// Credits `amount` (nil: all that is left) of an invoice of `invoiceTotal` with
    /// `invoiceTax`, of which `credited` with tax `creditedTax` was credited before.
    public init(
        _ amount: Money?, invoiceTotal: Money, invoiceTax: Money, credited: Money, creditedTax: Money,
        rounding: RoundingMode = .halfUp
    ) throws(BillingError) {
        let currency = invoiceTotal.currency
        for other in [invoiceTax, credited, creditedTax] + (amount.map { [$0] } ?? []) where other.currency != currency
        {
            throw .currencyMismatch(currency.code, other.currency.code)
        }
        let left = try invoiceTotal.subtracting(credited)
        guard left.minorUnits > 0 else {
            throw .invalid(field: "amount", rule: "nothing is left to credit on this invoice")
        }
        let amount = amount ?? left
        guard amount.minorUnits > 0, amount.minorUnits <= left.minorUnits else {
            throw .invalid(
                field: "amount", rule: "must be positive and at most the \(left) not yet credited, got \(amount)")
        }
        self.amount = amount
        if amount == left {
            tax = try invoiceTax.subtracting(creditedTax)
        } else {
            let share = rounding.divide(
                Int128(amount.minorUnits) * Int128(invoiceTax.minorUnits), by: Int128(invoiceTotal.minorUnits))
            tax = Money(minorUnits: Int64(share), currency: currency)
        }
    }
}
