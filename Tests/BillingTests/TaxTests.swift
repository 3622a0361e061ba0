import Billing
import Testing

@Suite("Taxes: rates by jurisdiction, reverse charge, per-line rounding")
struct TaxTests {
    static func money(_ text: String, _ currency: Currency = .usd) -> Money { try! Money(text, currency: currency) }
    static func percent(_ text: String) -> ExactDecimal { try! ExactDecimal(text) }

    static let table = try! TaxTable(
        sellerCountry: "DE",
        rates: [
            TaxRate(jurisdiction: "DE", name: "VAT", percent: percent("19")),
            TaxRate(jurisdiction: "FR", name: "VAT", percent: percent("20")),
            TaxRate(jurisdiction: "US-NY", name: "Sales tax", percent: percent("8.875")),
            TaxRate(jurisdiction: "US-CA", name: "Sales tax", percent: percent("7.25")),
        ])

    @Test("the customer's subdivision first, then its country, else untaxed")
    func jurisdictions() {
        #expect(
            Self.table.treatment(country: "US-NY", taxID: "")
                == .taxed(TaxRate(jurisdiction: "US-NY", name: "Sales tax", percent: Self.percent("8.875"))))
        #expect(Self.table.treatment(country: "US-TX", taxID: "") == .untaxed)
        #expect(
            Self.table.treatment(country: "DE", taxID: "DE123456789")
                == .taxed(TaxRate(jurisdiction: "DE", name: "VAT", percent: Self.percent("19"))))
        #expect(Self.table.treatment(country: "JP", taxID: "") == .untaxed)
    }

    @Test("EU B2B across borders is reverse charged, with the VAT id and a note; a consumer is not")
    func reverseCharge() {
        let treatment = Self.table.treatment(country: "FR", taxID: "FR40303265045")
        #expect(treatment == .reverseCharge(customerVATID: "FR40303265045"))
        #expect(treatment.note?.contains("FR40303265045") == true && treatment.note?.contains("Reverse charge") == true)
        #expect(
            Self.table.treatment(country: "FR", taxID: "")
                == .taxed(TaxRate(jurisdiction: "FR", name: "VAT", percent: Self.percent("20"))))
        // A seller outside the EU does not reverse charge.
        let american = try! TaxTable(
            sellerCountry: "US", rates: [TaxRate(jurisdiction: "FR", name: "VAT", percent: Self.percent("20"))])
        #expect(
            american.treatment(country: "FR", taxID: "FR40303265045") != .reverseCharge(customerVATID: "FR40303265045"))
    }

    @Test(
        "exclusive prices add the tax; inclusive prices contain it; net + tax is always the gross",
        arguments: [
            ("100.00", "19", TaxMode.exclusive, "100.00", "19.00", "119.00"),
            ("119.00", "19", TaxMode.inclusive, "100.00", "19.00", "119.00"),
            ("10.00", "19", TaxMode.inclusive, "8.40", "1.60", "10.00"),  // 10 / 1.19 = 8.4033…
            ("49.00", "8.875", TaxMode.exclusive, "49.00", "4.35", "53.35"),  // 4.34875 rounds half up
            ("0.01", "7.25", TaxMode.exclusive, "0.01", "0.00", "0.01"),
        ])
    func lines(amount: String, rate: String, mode: TaxMode, net: String, tax: String, gross: String) throws {
        let line = try TaxedAmount(Self.money(amount), percent: Self.percent(rate), mode: mode)
        #expect(line.net == Self.money(net) && line.tax == Self.money(tax) && line.gross == Self.money(gross))
    }

    @Test("the rounding mode is named and applied per line: half up against half even at a tie")
    func roundingModes() throws {
        // 2.50 × 5% = 0.125 exactly.
        #expect(
            try TaxedAmount(Self.money("2.50"), percent: Self.percent("5"), mode: .exclusive, rounding: .halfUp).tax
                == Self.money("0.13"))
        #expect(
            try TaxedAmount(Self.money("2.50"), percent: Self.percent("5"), mode: .exclusive, rounding: .halfEven).tax
                == Self.money("0.12"))
    }

    @Test("zero-decimal and three-decimal currencies round to their own minor unit")
    func currencies() throws {
        #expect(
            try TaxedAmount(Self.money("999", .jpy), percent: Self.percent("10"), mode: .exclusive).tax
                == Self.money("100", .jpy))  // 99.9
        #expect(
            try TaxedAmount(Self.money("12.345", .kwd), percent: Self.percent("5"), mode: .exclusive).tax
                == Self.money("0.617", .kwd))  // 0.61725
    }

    @Test("bad rates are refused with the field named")
    func validation() {
        #expect(throws: BillingError.invalid(field: "tax_rates.DE.percent", rule: "must be from 0 to 100, got 119")) {
            try TaxTable(
                sellerCountry: "DE", rates: [TaxRate(jurisdiction: "DE", name: "VAT", percent: Self.percent("119"))])
        }
        #expect(throws: BillingError.invalid(field: "tax_rates.DE", rule: "is given twice")) {
            try TaxTable(
                sellerCountry: "DE",
                rates: [
                    TaxRate(jurisdiction: "DE", name: "VAT", percent: Self.percent("19")),
                    TaxRate(jurisdiction: "DE", name: "VAT", percent: Self.percent("7")),
                ])
        }
        #expect(throws: BillingError.self) {
            try TaxedAmount(Self.money("1.00"), percent: Self.percent("-1"), mode: .exclusive)
        }
    }
}
