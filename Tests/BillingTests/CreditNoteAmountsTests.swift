import Billing
import Testing

@Suite("Credit note amounts")
struct CreditNoteAmountsTests {
    static func usd(_ text: String) -> Money { try! Money(text, currency: .usd) }

    @Test(
        "a partial credit takes the tax in proportion, rounded half up; the last takes the rest, so the notes add up to the invoice"
    )
    func proportionalThenRest() throws {
        // An invoice of $119.00 with $19.00 VAT (19% on $100.00).
        let total = Self.usd("119.00")
        let tax = Self.usd("19.00")
        // $50.00 back: 50 × 19 / 119 = 7.983… → $7.98 of tax, $42.02 net.
        let first = try CreditNoteAmounts(
            Self.usd("50.00"), invoiceTotal: total, invoiceTax: tax, credited: Self.usd("0"), creditedTax: Self.usd("0")
        )
        #expect(first.tax == Self.usd("7.98") && first.net == Self.usd("42.02"))
        // The rest, $69.00: the rest of the tax, $11.02 (proportion alone would give 11.016… → 11.02 too; the sum is what matters).
        let rest = try CreditNoteAmounts(
            nil, invoiceTotal: total, invoiceTax: tax, credited: first.amount, creditedTax: first.tax)
        #expect(rest.amount == Self.usd("69.00") && rest.tax == Self.usd("11.02"))
        #expect(try first.tax.adding(rest.tax) == tax)
    }

    @Test("more than is left, nothing, a negative amount or another currency is refused, naming the field")
    func refusals() throws {
        let total = Self.usd("100.00")
        let zero = Self.usd("0")
        #expect(throws: BillingError.self) {
            try CreditNoteAmounts(
                Self.usd("100.01"), invoiceTotal: total, invoiceTax: zero, credited: zero, creditedTax: zero)
        }
        #expect(throws: BillingError.self) {
            try CreditNoteAmounts(
                Self.usd("0"), invoiceTotal: total, invoiceTax: zero, credited: zero, creditedTax: zero)
        }
        #expect(throws: BillingError.self) {
            try CreditNoteAmounts(
                Self.usd("-1"), invoiceTotal: total, invoiceTax: zero, credited: zero, creditedTax: zero)
        }
        #expect(throws: BillingError.self) {
            try CreditNoteAmounts(nil, invoiceTotal: total, invoiceTax: zero, credited: total, creditedTax: zero)
        }
        #expect(throws: BillingError.currencyMismatch("USD", "EUR")) {
            try CreditNoteAmounts(
                try Money("1", currency: .eur), invoiceTotal: total, invoiceTax: zero, credited: zero, creditedTax: zero
            )
        }
        do {
            _ = try CreditNoteAmounts(
                Self.usd("200"), invoiceTotal: total, invoiceTax: zero, credited: zero, creditedTax: zero)
        } catch {
            #expect(error.description.contains("amount"))
        }
    }
}
