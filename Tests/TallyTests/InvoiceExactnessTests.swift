import Billing
import BillingEvents
import Foundation
import ReadModels
import Tally
import TallyTestSupport
import Testing

/// Issue 5's named figures, end to end: plans defined, organizations subscribed, usage
/// recorded, `advance` closing the period; each invoice checked to the minor unit against a
/// computation by hand (in the comments).
@Suite("Invoices against hand-computed figures")
struct InvoiceExactnessTests {
    static func date(_ text: String) -> Date { try! Date(text, strategy: .iso8601) }
    static func decimal(_ text: String) -> ExactDecimal { try! ExactDecimal(text) }
    static let start = date("2025-01-01T00:00:00Z")

    /// A monthly plan with `metrics` (no limits), in `currency`.
    static func plan(_ id: String, _ monthly: String, _ currency: Currency = .usd, metrics: [Plan.MetricTerms] = [])
        throws -> Plan
    {
        Plan(
            id: id, name: id.capitalized, tier: .professional, currency: currency,
            monthlyPrice: try Money(monthly, currency: currency), annualPrice: nil, metrics: metrics)
    }

    /// An engine finalizing invoices at each period's end, with `plans` and `taxTable`.
    static func engine(_ directory: TemporaryDirectory, _ plans: [Plan], taxTable: TaxTable? = nil) async throws
        -> Engine
    {
        let engine = try Engine(
            directory: directory.path, taxTable: taxTable, policy: BillingPolicy(lateUsageGraceSeconds: 0))
        for plan in plans { try await engine.definePlan(plan, at: start) }
        return engine
    }

    static func subscribe(
        _ engine: Engine, _ id: String, to plan: String, _ currency: Currency = .usd, country: String = "US",
        taxID: String = "",
        interval: BillingInterval = .monthly, at date: Date = start
    ) async throws {
        try await engine.register(
            OrganizationRegistration(
                id: id, name: id, billingEmail: "ap@\(id).test", country: country, taxID: taxID, currency: currency,
                paymentMethod: "pm_card_visa"),
            at: date)
        try await engine.subscribe(id, to: plan, interval: interval, at: date)
    }

    static func use(
        _ engine: Engine, _ id: String, _ metric: String, _ quantity: Int64,
        at date: Date = date("2025-01-15T00:00:00Z")
    ) async throws {
        try await engine.recordUsage(
            UsageRecord(organizationID: id, metric: metric, quantity: quantity, occurredAt: date))
    }

    /// The organization's first invoice: its lines' amounts and taxes, and its total, as text.
    static func invoice(_ engine: Engine, _ id: String) throws -> (
        lines: [String], taxes: [String], total: String, invoice: Tally_V1_InvoiceIssued
    ) {
        let invoice = try #require(try engine.live.invoices(of: id).first)
        let text = { (money: Tally_V1_Money) throws -> String in try money.decoded(field: "amount").description }
        return (
            try invoice.lines.map { try text($0.amount) }, try invoice.lines.map { try text($0.tax) },
            try text(invoice.total), invoice
        )
    }

    @Test("proration across the 31st and a leap day")
    func prorationAcrossMonthEndAndLeapDay() async throws {
        let directory = TemporaryDirectory()
        let engine = try await Self.engine(directory, [try Self.plan("basic", "30"), try Self.plan("team", "100")])
        // Anchored on January 31, 2024: the period runs to February 29 (clamped, a leap year), 29 days.
        let anchor = Self.date("2024-01-31T00:00:00Z")
        try await Self.subscribe(engine, "org_p", to: "basic", at: anchor)
        // Upgraded on February 15: 14 of the period's 29 days remain.
        try await engine.changePlan("org_p", to: "team", interval: .monthly, at: Self.date("2024-02-15T00:00:00Z"))
        try await engine.advance(to: Self.date("2024-02-29T00:00:00Z"))
        let (lines, _, total, invoice) = try Self.invoice(engine, "org_p")
        #expect(invoice.periodEnd.date == Self.date("2024-02-29T00:00:00Z"))
        // 30.00; credit −30 × 14/29 = −14.4827… → −14.48; charge 100 × 14/29 = 48.2758… → 48.28.
        #expect(lines == ["USD 30.00", "USD -14.48", "USD 48.28"])
        #expect(total == "USD 63.80")  // 30.00 − 14.48 + 48.28
        // The next period runs from the leap day back to the 31st.
        let record = try #require(try engine.subscription(of: "org_p"))
        #expect(record.currentPeriod?.end == Self.date("2024-03-31T00:00:00Z"))
    }

    @Test("graduated versus volume pricing at the exact tier boundaries")
    func graduatedVersusVolume() async throws {
        // Up to 1,000 at 0.01; up to 10,000 at 0.008; above at 0.005.
        let tiers = [
            PriceTier(upTo: 1_000, unitPrice: Self.decimal("0.01")),
            PriceTier(upTo: 10_000, unitPrice: Self.decimal("0.008")),
            PriceTier(upTo: nil, unitPrice: Self.decimal("0.005")),
        ]
        let directory = TemporaryDirectory()
        let engine = try await Self.engine(
            directory,
            [
                try Self.plan(
                    "graduated", "0", metrics: [Plan.MetricTerms(metric: .dataPoints, overagePrice: .graduated(tiers))]),
                try Self.plan(
                    "volume", "0", metrics: [Plan.MetricTerms(metric: .dataPoints, overagePrice: .volume(tiers))]),
            ])
        for quantity: Int64 in [1_000, 1_001, 10_000, 10_001] {
            for model in ["graduated", "volume"] {
                try await Self.subscribe(engine, "org_\(model)_\(quantity)", to: model)
                try await Self.use(engine, "org_\(model)_\(quantity)", "data_points", quantity)
            }
        }
        try await engine.advance(to: Self.date("2025-02-01T00:00:00Z"))
        func usageLine(_ id: String) throws -> String { try Self.invoice(engine, id).lines.last ?? "" }
        // 1,000: graduated 1,000 × 0.01 = 10.00; volume, all at the first tier, 10.00.
        #expect(try usageLine("org_graduated_1000") == "USD 10.00")
        #expect(try usageLine("org_volume_1000") == "USD 10.00")
        // 1,001: graduated 10.00 + 1 × 0.008 = 10.008 → 10.01; volume, all at the second tier, 1,001 × 0.008 = 8.008 → 8.01.
        #expect(try usageLine("org_graduated_1001") == "USD 10.01")
        #expect(try usageLine("org_volume_1001") == "USD 8.01")
        // 10,000: graduated 10.00 + 9,000 × 0.008 = 82.00; volume 10,000 × 0.008 = 80.00.
        #expect(try usageLine("org_graduated_10000") == "USD 82.00")
        #expect(try usageLine("org_volume_10000") == "USD 80.00")
        // 10,001: graduated 82.00 + 0.005 = 82.005 → 82.01 (half up); volume 10,001 × 0.005 = 50.005 → 50.01.
        #expect(try usageLine("org_graduated_10001") == "USD 82.01")
        #expect(try usageLine("org_volume_10001") == "USD 50.01")
    }

    @Test("package pricing rounding up, above the included quantity")
    func packageAndIncluded() async throws {
        // $49 a month; 1,000,000 API calls included, then $0.50 per started 1,000.
        let terms = Plan.MetricTerms(
            metric: .apiCalls, included: 1_000_000, overagePrice: .package(size: 1_000, price: Self.decimal("0.50")))
        let directory = TemporaryDirectory()
        let engine = try await Self.engine(directory, [try Self.plan("pro", "49", metrics: [terms])])
        for (id, quantity) in [
            ("org_exact", Int64(1_000_000)), ("org_one", 1_000_001), ("org_block", 1_001_000), ("org_next", 1_001_001),
        ] {
            try await Self.subscribe(engine, id, to: "pro")
            try await Self.use(engine, id, "api_calls", quantity)
        }
        try await engine.advance(to: Self.date("2025-02-01T00:00:00Z"))
        // Exactly the included million: no usage line, $49.00.
        #expect(try Self.invoice(engine, "org_exact").lines == ["USD 49.00"])
        // One call above: one started block, $0.50. 1,000 above: still one block. 1,001 above: two, $1.00.
        #expect(try Self.invoice(engine, "org_one").lines == ["USD 49.00", "USD 0.50"])
        #expect(try Self.invoice(engine, "org_block").lines == ["USD 49.00", "USD 0.50"])
        #expect(try Self.invoice(engine, "org_next").lines == ["USD 49.00", "USD 1.00"])
        #expect(try Self.invoice(engine, "org_next").invoice.lines.last?.quantity == 1_001)
    }

    @Test("an enterprise minimum true-up, under a contract's prices, included quantity and term")
    func enterpriseMinimum() async throws {
        let directory = TemporaryDirectory()
        let terms = Plan.MetricTerms(
            metric: .apiCalls, included: 0, overagePrice: .perUnit(unitPrice: Self.decimal("0.001")))
        let engine = try await Self.engine(directory, [try Self.plan("enterprise", "2000", metrics: [terms])])
        try await engine.register(
            OrganizationRegistration(
                id: "org_e", name: "E", billingEmail: "ap@e.test", country: "US", currency: .usd,
                paymentMethod: "pm_card_visa"), at: Self.start)
        try await engine.agreeCustomPricing(
            CustomPricing(
                organizationID: "org_e", basePlanID: "enterprise", currency: .usd, interval: .quarterly,
                recurringPrice: try Money("900", currency: .usd),
                metricPrices: ["api_calls": .perUnit(unitPrice: Self.decimal("0.0001"))],
                included: ["api_calls": 50_000_000],
                minimumCommitment: try Money("1500", currency: .usd), contractStart: Self.start,
                contractEnd: Self.date("2026-01-01T00:00:00Z")), at: Self.start)
        try await engine.subscribe("org_e", to: "enterprise", interval: .quarterly, at: Self.start)
        try await Self.use(engine, "org_e", "api_calls", 50_500_000, at: Self.date("2025-02-15T00:00:00Z"))
        try await engine.advance(to: Self.date("2025-04-01T00:00:00Z"))
        let (lines, _, total, invoice) = try Self.invoice(engine, "org_e")
        #expect(invoice.periodEnd.date == Self.date("2025-04-01T00:00:00Z"))
        // 900 (the contract's quarter) + 500,000 above 50M × 0.0001 = 50 → 950 < 1,500: true-up 550.
        #expect(lines == ["USD 900.00", "USD 50.00", "USD 550.00"])
        #expect(invoice.lines.map(\.kind) == ["recurring", "usage", "commitment_true_up"])
        #expect(total == "USD 1500.00")
    }

    @Test("a JPY invoice and a KWD invoice: whole yen and three-decimal dinars, tax per line")
    func yenAndDinar() async throws {
        let yen = try Currency("JPY")
        let dinar = try Currency("KWD")
        let table = try TaxTable(
            sellerCountry: "JP",
            rates: [TaxRate(jurisdiction: "JP", name: "Consumption tax", percent: Self.decimal("10"))])
        let directory = TemporaryDirectory()
        let engine = try await Self.engine(
            directory,
            [
                try Self.plan(
                    "pro_jp", "4980", yen,
                    metrics: [
                        Plan.MetricTerms(metric: .apiCalls, overagePrice: .perUnit(unitPrice: Self.decimal("0.15")))
                    ]),
                try Self.plan(
                    "pro_kw", "12.500", dinar,
                    metrics: [
                        Plan.MetricTerms(metric: .apiCalls, overagePrice: .perUnit(unitPrice: Self.decimal("0.0015")))
                    ]),
            ], taxTable: table)
        try await Self.subscribe(engine, "org_jp", to: "pro_jp", yen, country: "JP")
        try await Self.subscribe(engine, "org_kw", to: "pro_kw", dinar, country: "KW")
        try await Self.use(engine, "org_jp", "api_calls", 1_234)
        try await Self.use(engine, "org_kw", "api_calls", 1_234)
        try await engine.advance(to: Self.date("2025-02-01T00:00:00Z"))
        // Yen: ¥4,980; 1,234 × 0.15 = 185.1 → ¥185. Tax 10%: ¥498 and 18.5 → ¥19. Total ¥5,682.
        let japan = try Self.invoice(engine, "org_jp")
        #expect(
            japan.lines == ["JPY 4980", "JPY 185"] && japan.taxes == ["JPY 498", "JPY 19"] && japan.total == "JPY 5682")
        // Dinars (no tax in the table for Kuwait): 12.500; 1,234 × 0.0015 = 1.851. Total 14.351.
        let kuwait = try Self.invoice(engine, "org_kw")
        #expect(
            kuwait.lines == ["KWD 12.500", "KWD 1.851"] && kuwait.taxes == ["KWD 0.000", "KWD 0.000"]
                && kuwait.total == "KWD 14.351")
    }

    @Test("a reverse-charge invoice, and a tax-inclusive price")
    func reverseChargeAndInclusive() async throws {
        let rates = [TaxRate(jurisdiction: "DE", name: "VAT", percent: Self.decimal("19"))]
        let directory = TemporaryDirectory()
        let engine = try await Self.engine(
            directory, [try Self.plan("team", "119")],
            taxTable: try TaxTable(sellerCountry: "DE", rates: rates, prices: .inclusive))
        try await Self.subscribe(engine, "org_de", to: "team", country: "DE")
        try await Self.subscribe(engine, "org_fr", to: "team", country: "FR", taxID: "FR40303265045")
        try await engine.advance(to: Self.date("2025-02-01T00:00:00Z"))
        // Inclusive: the customer pays 119.00, of which net 119 / 1.19 = 100.00 and VAT 19.00.
        let german = try Self.invoice(engine, "org_de")
        #expect(german.lines == ["USD 100.00"] && german.taxes == ["USD 19.00"] && german.total == "USD 119.00")
        #expect(german.invoice.taxName == "VAT" && german.invoice.taxPercent == "19")
        // Reverse charge across EU borders to a business: no VAT, the customer's id and the note.
        let french = try Self.invoice(engine, "org_fr")
        #expect(french.taxes == ["USD 0.00"] && french.total == "USD 119.00")
        #expect(french.invoice.reverseChargeVatID == "FR40303265045" && french.invoice.note.contains("Reverse charge"))
    }
}
