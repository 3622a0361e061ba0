import Billing
import BillingEvents
import Foundation
import ReadModels
import Tally
import TallyTestSupport
import Testing

/// Recurring discounts: taken off each closing invoice's recurring fee while they last, net of
/// MRR (a contraction when added, an expansion when they end).
@Suite("Engine: recurring discounts")
struct DiscountTests {
    static func date(_ text: String) -> Date { MRRMovementTests.date(text) }
    static func day(_ text: String) -> Int32 { MRRMovementTests.day(text) }
    static func usd(_ text: String) -> Money { try! Money(text, currency: .usd) }

    @Test(
        "25% off for two periods: two invoices discounted, MRR down then up again; the discount's end is an expansion")
    func discountThatExpires() async throws {
        let directory = TemporaryDirectory()
        let engine = try await MRRMovementTests.engine(directory, organizations: ["org_d"])
        try await engine.subscribe("org_d", to: "growth", interval: .monthly, at: Self.date("2025-01-01"))
        let record = try await engine.applyDiscount(
            "org_d", RecurringDiscount(id: "SPRING25", value: .percentOff(ExactDecimal(25)), periods: 2),
            at: Self.date("2025-01-10"))
        #expect(record.discount?.periodsLeft == 2)
        try await engine.advance(to: Self.date("2025-04-05"))

        let invoices = try engine.live.invoices(of: "org_d")
        #expect(invoices.count == 3)
        #expect(invoices.map(\.total.minorUnits) == [4_500, 4_500, 6_000])
        let january = try #require(invoices.first)
        let discountLine = try #require(january.lines.first { $0.kind == InvoiceLine.Kind.recurringDiscount.rawValue })
        #expect(discountLine.amount.minorUnits == -1_500)
        #expect(discountLine.description_p == "Discount SPRING25: 25% off")
        #expect(january.discounts.minorUnits == -1_500)
        #expect(january.subtotal.minorUnits == 6_000)

        let ledger = try MRRMovementTests.ledger(engine)
        let days = { (text: String) in
            ledger.intervals(from: Self.day(text), through: Self.day(text), monthly: false)[0]
        }
        #expect(days("2025-01-10").movements.amount(.contraction) == -1_500, "a discount added is a contraction")
        #expect(days("2025-02-01").movements.net == 0, "one period used, one left: still discounted")
        #expect(
            days("2025-03-01").movements.amount(.expansion) == 1_500, "the discount ended with February: an expansion")
        #expect(ledger.standing(atEndOf: Self.day("2025-03-01")).mrr == 6_000)
        #expect(try engine.subscription(of: "org_d")?.discount == nil)
    }

    @Test("an annual fee with an amount off for good: MRR is the net fee over twelve months")
    func amountOffForever() async throws {
        let directory = TemporaryDirectory()
        let engine = try await MRRMovementTests.engine(directory, organizations: ["org_y"])
        try await engine.subscribe("org_y", to: "growth", interval: .annual, at: Self.date("2025-01-01"))
        try await engine.applyDiscount(
            "org_y", RecurringDiscount(id: "LOYAL", value: .amountOff(Self.usd("120")), periods: nil),
            at: Self.date("2025-01-02"))
        #expect(try engine.live.customerHistory(of: "org_y")?.mrr == 4_000)  // (600 − 120) / 12 = 40.00
        try await engine.advance(to: Self.date("2026-01-05"))
        #expect(try engine.live.invoices(of: "org_y").first?.total.minorUnits == 48_000)
        #expect(
            try engine.live.customerHistory(of: "org_y")?.mrr == 4_000, "for good: still in force after the renewal")
    }

    @Test("bad discounts are refused with the field and rule named, and change nothing; a retry appends nothing")
    func refusals() async throws {
        let directory = TemporaryDirectory()
        let engine = try await MRRMovementTests.engine(directory, organizations: ["org_r", "org_gone"])
        try await engine.subscribe("org_r", to: "starter", interval: .monthly, at: Self.date("2025-01-01"))
        let head = try engine.log.head()?.sequence
        await #expect(
            throws: EngineError.invalid(field: "percent_off", rule: "must be greater than 0 and at most 100, got 120")
        ) {
            try await engine.applyDiscount(
                "org_r", RecurringDiscount(id: "TOO_MUCH", value: .percentOff(ExactDecimal(120)), periods: 1),
                at: Self.date("2025-01-02"))
        }
        await #expect(
            throws: EngineError.invalid(
                field: "amount_off", rule: "must be in USD, the organization's currency, got EUR")
        ) {
            try await engine.applyDiscount(
                "org_r", RecurringDiscount(id: "EURO", value: .amountOff(try Money("5", currency: .eur)), periods: 1),
                at: Self.date("2025-01-02"))
        }
        await #expect(throws: EngineError.invalid(field: "periods", rule: "must be from 1 to 120, or forever, got 0")) {
            try await engine.applyDiscount(
                "org_r", RecurringDiscount(id: "NONE", value: .percentOff(ExactDecimal(10)), periods: 0),
                at: Self.date("2025-01-02"))
        }
        await #expect(throws: EngineError.notFound("subscription of org_gone")) {
            try await engine.applyDiscount(
                "org_gone", RecurringDiscount(id: "X", value: .percentOff(ExactDecimal(10)), periods: 1),
                at: Self.date("2025-01-02"))
        }
        #expect(try engine.log.head()?.sequence == head)

        let discount = RecurringDiscount(id: "ONCE", value: .amountOff(Self.usd("50")), periods: 1)
        try await engine.applyDiscount("org_r", discount, at: Self.date("2025-01-03"))
        let after = try engine.log.head()?.sequence
        try await engine.applyDiscount("org_r", discount, at: Self.date("2025-01-03"))
        #expect(try engine.log.head()?.sequence == after, "the same discount again is a retry")
        let history = try #require(try engine.live.customerHistory(of: "org_r"))
        #expect(history.mrr == 0, "$50 off a $30 fee takes the fee to zero, never below")
        #expect(
            history.movements.last?.movement.kind == .churn,
            "a fee discounted to nothing pays nothing: ChartMogul counts it as churn")
        try await engine.cancelSubscription("org_r", at: Self.date("2025-01-04"), immediately: true)
        await #expect(throws: EngineError.self) {
            try await engine.applyDiscount(
                "org_r", RecurringDiscount(id: "LATE", value: .percentOff(ExactDecimal(10)), periods: 1),
                at: Self.date("2025-01-05"))
        }
    }
}
