import Billing
import BillingEvents
import EventLog
import Foundation
import Payments
import ReadModels
import Tally
import TallyTestSupport
import Testing

/// advance(to:) closing billing periods with invoices.
@Suite("Engine: invoices at each period's end")
struct InvoiceRunTests {
    static func date(_ text: String) -> Date { try! Date(text, strategy: .iso8601) }
    static func usd(_ text: String) -> Money { try! Money(text, currency: .usd) }

    /// `basic` ($30), `team` ($100) and a no-trial copy of Professional ($49; API calls: 1M
    /// included, then $0.50 per started 1,000). Invoices are finalized as their period ends
    /// (no late-usage grace) unless `policy` says otherwise.
    static func engine(
        _ directory: TemporaryDirectory, taxTable: TaxTable? = nil,
        policy: BillingPolicy = BillingPolicy(lateUsageGraceSeconds: 0),
        gateway: (any PaymentGateway)? = nil
    ) async throws -> Engine {
        let engine = try Engine(directory: directory.path, taxTable: taxTable, policy: policy, gateway: gateway)
        let start = date("2025-01-01T00:00:00Z")
        for (id, price) in [("basic", "30"), ("team", "100"), ("pro", "49")] {
            var plan = try Plan.defaults()[1]
            plan.id = id
            plan.name = id.capitalized
            plan.trialDays = 0
            plan.monthlyPrice = usd(price)
            plan.annualPrice = nil
            try await engine.definePlan(plan, at: start)
        }
        return engine
    }

    static func register(_ engine: Engine, _ id: String, country: String = "US", taxID: String = "", at date: Date)
        async throws
    {
        try await engine.register(
            OrganizationRegistration(
                id: id, name: id, billingEmail: "ap@\(id).test", country: country, taxID: taxID, currency: .usd,
                paymentMethod: "pm_card_visa"),
            at: date)
    }

    @Test("a period's end issues its invoice: the recurring fee and the usage above the included quantity")
    func usageInvoice() async throws {
        let directory = TemporaryDirectory()
        let engine = try await Self.engine(directory)
        let start = Self.date("2025-01-01T00:00:00Z")
        try await Self.register(engine, "org_u", at: start)
        try await engine.subscribe("org_u", to: "pro", interval: .monthly, at: start)
        try await engine.recordUsage(
            UsageRecord(
                organizationID: "org_u", metric: "api_calls", quantity: 1_234_567,
                occurredAt: Self.date("2025-01-20T00:00:00Z")))
        try await engine.advance(to: Self.date("2025-02-01T00:00:00Z"))
        let invoices = try engine.live.invoices(of: "org_u")
        #expect(invoices.count == 1)
        let invoice = try #require(invoices.first)
        #expect(invoice.invoiceID == "2025-000001" && invoice.number == 1 && invoice.series == "2025")
        #expect(invoice.periodStart.date == start && invoice.periodEnd.date == Self.date("2025-02-01T00:00:00Z"))
        // 49.00, and 234,567 calls above 1,000,000 → 235 blocks × 0.50 = 117.50.
        #expect(
            try invoice.lines.map { try $0.amount.decoded(field: "amount") } == [Self.usd("49.00"), Self.usd("117.50")])
        #expect(try invoice.total.decoded(field: "total") == Self.usd("166.50"))
        #expect(try engine.live.invoice("2025-000001") == invoice)
    }

    @Test("an upgrade mid-period: the period's fee at its starting price, the credit and the charge")
    func prorationInvoice() async throws {
        let directory = TemporaryDirectory()
        let engine = try await Self.engine(directory)
        let start = Self.date("2025-01-01T00:00:00Z")
        try await Self.register(engine, "org_p", at: start)
        try await engine.subscribe("org_p", to: "basic", interval: .monthly, at: start)
        try await engine.changePlan("org_p", to: "team", interval: .monthly, at: Self.date("2025-01-16T00:00:00Z"))
        try await engine.advance(to: Self.date("2025-03-01T00:00:00Z"))
        let invoices = try engine.live.invoices(of: "org_p")
        #expect(invoices.map(\.invoiceID) == ["2025-000001", "2025-000002"])
        // January: 30.00 − 30 × 16/31 (15.48) + 100 × 16/31 (51.61) = 66.13. February: 100.00.
        #expect(
            try invoices[0].lines.map { try $0.amount.decoded(field: "amount") } == [
                Self.usd("30.00"), Self.usd("-15.48"), Self.usd("51.61"),
            ])
        #expect(try invoices[0].total.decoded(field: "total") == Self.usd("66.13"))
        #expect(try invoices[1].total.decoded(field: "total") == Self.usd("100.00"))
    }

    @Test("numbers are gap-free and increasing within each year's series, whatever the batching and concurrency")
    func gapFreeNumbers() async throws {
        let directory = TemporaryDirectory()
        let engine = try await Self.engine(directory)
        let start = Self.date("2025-01-01T00:00:00Z")
        for index in 0..<15 {
            try await Self.register(engine, "org_\(index)", at: start)
            try await engine.subscribe(
                "org_\(index)", to: index % 2 == 0 ? "basic" : "team", interval: .monthly,
                at: start.addingTimeInterval(Double(index) * 86_400 * 1.7))
        }
        let end = Self.date("2026-03-01T00:00:00Z")
        async let first = engine.advance(to: end, eventsPerCommit: 7)
        async let second = engine.advance(to: end, eventsPerCommit: 3)
        _ = try await (first, second)
        let head = try #require(try engine.log.head())
        let issued = try engine.log.events(from: 1, limit: Int(head.sequence))
            .filter { $0.eventType == BillingEventType.invoiceIssued.rawValue }
            .map { try Tally_V1_InvoiceIssued(serializedBytes: $0.payload) }
        for series in ["2025", "2026"] {
            let numbers = issued.filter { $0.series == series }.map(\.number)
            #expect(!numbers.isEmpty)
            #expect(numbers == Array(1...UInt64(numbers.count)), "\(series): \(numbers)")
        }
        #expect(
            issued.allSatisfy {
                String(Calendar.current.dateComponents(in: TimeZone(identifier: "UTC")!, from: $0.periodEnd.date).year!)
                    == $0.series
            })
        // One invoice per subscription period: no period billed twice.
        #expect(Set(issued.map { "\($0.subscriptionID) \($0.periodEnd.seconds)" }).count == issued.count)
        let before = try engine.projections.flatDump(InvoicesProjector.name)
        try engine.projections.rebuild(InvoicesProjector.name)
        #expect(try engine.projections.flatDump(InvoicesProjector.name) == before)
    }

    @Test(
        "taxes on the invoice: the seller's rate for a domestic customer, reverse charge with a note across EU borders")
    func taxes() async throws {
        let directory = TemporaryDirectory()
        let table = try TaxTable(
            sellerCountry: "DE", rates: [TaxRate(jurisdiction: "DE", name: "VAT", percent: try ExactDecimal("19"))])
        let engine = try await Self.engine(directory, taxTable: table)
        let start = Self.date("2025-01-01T00:00:00Z")
        try await Self.register(engine, "org_de", country: "DE", at: start)
        try await Self.register(engine, "org_fr", country: "FR", taxID: "FR40303265045", at: start)
        for organization in ["org_de", "org_fr"] {
            try await engine.subscribe(organization, to: "team", interval: .monthly, at: start)
        }
        try await engine.advance(to: Self.date("2025-02-01T00:00:00Z"))
        let german = try #require(try engine.live.invoices(of: "org_de").first)
        #expect(german.taxName == "VAT" && german.taxPercent == "19")
        #expect(
            try german.tax.decoded(field: "tax") == Self.usd("19.00")
                && german.total.decoded(field: "total") == Self.usd("119.00"))
        let french = try #require(try engine.live.invoices(of: "org_fr").first)
        #expect(french.reverseChargeVatID == "FR40303265045" && french.note.contains("Reverse charge"))
        #expect(
            try french.tax.decoded(field: "tax").isZero && french.total.decoded(field: "total") == Self.usd("100.00"))
    }
}
