import Billing
import Foundation
import Testing

/// Invoices checked against figures computed by hand, to the minor unit.
@Suite("Invoice calculation")
struct InvoiceCalculationTests {
    static func usd(_ text: String) -> Money { try! Money(text, currency: .usd) }
    static func decimal(_ text: String) -> ExactDecimal { try! ExactDecimal(text) }
    static let apiCalls = Plan.MetricTerms(
        metric: .apiCalls, included: 1_000_000, overagePrice: .package(size: 1_000, price: decimal("0.50")))

    @Test("included quantities: only usage above them is billed, package pricing rounding a started block up")
    func includedQuantities() throws {
        // 1,234,567 calls − 1,000,000 included = 234,567 → 235 blocks of 1,000 × 0.50 = 117.50.
        let invoice = try InvoiceCalculation(
            currency: .usd, recurring: [("Professional, monthly", Self.usd("49"))],
            usage: [.init(terms: Self.apiCalls, quantity: 1_234_567)])
        #expect(invoice.lines.map(\.amount) == [Self.usd("49.00"), Self.usd("117.50")])
        #expect(invoice.lines.last?.quantity == 234_567)
        #expect(invoice.total == Self.usd("166.50"))
        // Exactly the included quantity bills nothing.
        let within = try InvoiceCalculation(
            currency: .usd, recurring: [("Professional", Self.usd("49"))],
            usage: [.init(terms: Self.apiCalls, quantity: 1_000_000)])
        #expect(within.lines.count == 1 && within.total == Self.usd("49.00"))
    }

    static func contract(minimum: String?, discounts: [CustomPricing.VolumeDiscount] = []) -> CustomPricing {
        CustomPricing(
            organizationID: "org_e", basePlanID: "enterprise", currency: .usd, interval: .quarterly,
            recurringPrice: usd("900"),
            metricPrices: ["api_calls": .perUnit(unitPrice: decimal("0.0001"))], included: ["api_calls": 50_000_000],
            minimumCommitment: minimum.map(usd), volumeDiscounts: discounts,
            contractStart: Date(timeIntervalSince1970: 0), contractEnd: Date(timeIntervalSince1970: 4_000_000_000))
    }

    @Test("an enterprise minimum commitment: the shortfall is billed as a true-up")
    func minimumTrueUp() throws {
        // 900 + (50,500,000 − 50,000,000) × 0.0001 = 900 + 50 = 950 < 1,500 → true-up 550.
        let invoice = try InvoiceCalculation(
            currency: .usd, recurring: [("Enterprise (contract), quarterly", Self.usd("900"))],
            usage: [.init(terms: Self.apiCalls, quantity: 50_500_000)], contract: Self.contract(minimum: "1500"))
        #expect(invoice.lines.map(\.kind) == [.recurring, .usage, .commitmentTrueUp])
        #expect(invoice.lines.map(\.amount) == [Self.usd("900.00"), Self.usd("50.00"), Self.usd("550.00")])
        #expect(invoice.total == Self.usd("1500.00"))
    }

    @Test("a volume discount on the whole spend once a threshold is reached; the commitment is then met")
    func volumeDiscount() throws {
        // 900 + 51,000,000 above 50,000,000 … = 900 + 5,100 = 6,000 ≥ 5,000 → 5% off = −300.
        let invoice = try InvoiceCalculation(
            currency: .usd, recurring: [("Enterprise (contract), quarterly", Self.usd("900"))],
            usage: [.init(terms: Self.apiCalls, quantity: 101_000_000)],
            contract: Self.contract(
                minimum: "1500", discounts: [.init(threshold: Self.usd("5000"), percentOff: Self.decimal("5"))]))
        #expect(invoice.subtotal == Self.usd("6000.00"))
        #expect(invoice.discounts == Self.usd("-300.00"))
        #expect(invoice.total == Self.usd("5700.00"))
        #expect(!invoice.lines.contains { $0.kind == .commitmentTrueUp })
    }

    @Test("proration lines of a plan change count in the subtotal")
    func prorations() throws {
        let invoice = try InvoiceCalculation(
            currency: .usd, recurring: [("Growth, monthly", Self.usd("60"))],
            prorations: [(Self.usd("-15.48"), Self.usd("30.97"))])
        #expect(invoice.lines.map(\.kind) == [.recurring, .prorationCredit, .prorationCharge])
        #expect(invoice.total == Self.usd("75.49"))
    }

    @Test("a JPY invoice: whole yen on every line, tax per line")
    func yen() throws {
        let terms = Plan.MetricTerms(
            metric: .apiCalls, included: 0, overagePrice: .perUnit(unitPrice: Self.decimal("0.5")))
        let rate = TaxRate(jurisdiction: "JP", name: "Consumption tax", percent: Self.decimal("10"))
        // Usage 333 × 0.5 = 166.5 → 167; tax 500 + 16.7 → 17 = 517; total 5,167 + 517 = 5,684.
        let invoice = try InvoiceCalculation(
            currency: .jpy, recurring: [("Basic, monthly", try Money("5000", currency: .jpy))],
            usage: [.init(terms: terms, quantity: 333)],
            treatment: .taxed(rate))
        #expect(invoice.lines.map(\.amount) == [try Money("5000", currency: .jpy), try Money("167", currency: .jpy)])
        #expect(invoice.lines.map(\.tax) == [try Money("500", currency: .jpy), try Money("17", currency: .jpy)])
        #expect(invoice.total == (try Money("5684", currency: .jpy)))
    }

    @Test("a KWD invoice: three decimals on every line, tax per line")
    func dinar() throws {
        let terms = Plan.MetricTerms(
            metric: .apiCalls, included: 0, overagePrice: .perUnit(unitPrice: Self.decimal("0.0125")))
        let rate = TaxRate(jurisdiction: "KW", name: "VAT", percent: Self.decimal("5"))
        // Usage 1,001 × 0.0125 = 12.5125 → 12.513; tax 0.475 + 0.62565 → 0.626; total 9.500 + 12.513 + 0.475 + 0.626 = 23.114.
        let invoice = try InvoiceCalculation(
            currency: .kwd, recurring: [("Basic, monthly", try Money("9.500", currency: .kwd))],
            usage: [.init(terms: terms, quantity: 1_001)],
            treatment: .taxed(rate))
        #expect(invoice.lines.map(\.tax) == [try Money("0.475", currency: .kwd), try Money("0.626", currency: .kwd)])
        #expect(invoice.total == (try Money("23.114", currency: .kwd)))
    }

    @Test("reverse charge: no tax, and the invoice says why; tax-inclusive prices keep their total")
    func taxTreatments() throws {
        let reverse = try InvoiceCalculation(
            currency: .usd, recurring: [("Professional", Self.usd("49"))],
            treatment: .reverseCharge(customerVATID: "FR40303265045"))
        #expect(reverse.tax.isZero && reverse.total == Self.usd("49.00") && reverse.taxByRate.isEmpty)
        #expect(reverse.treatment.note?.contains("FR40303265045") == true)
        let vat = TaxRate(jurisdiction: "DE", name: "VAT", percent: Self.decimal("19"))
        let inclusive = try InvoiceCalculation(
            currency: .usd, recurring: [("Pro", Self.usd("119"))], treatment: .taxed(vat), taxMode: .inclusive)
        #expect(
            inclusive.lines[0].amount == Self.usd("100.00") && inclusive.tax == Self.usd("19.00")
                && inclusive.total == Self.usd("119.00"))
    }

    @Test("lines in another currency are refused")
    func currencyMismatch() {
        #expect(throws: BillingError.self) {
            try InvoiceCalculation(currency: .usd, recurring: [("Pro", try Money("49", currency: .eur))])
        }
    }
}
