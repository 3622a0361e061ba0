import Billing
import BillingEvents
import EventLog
import Foundation
import ReadModels
import Tally
import TallyTestSupport
import Testing

@Suite("Engine: zero- and three-decimal currencies, and the last second of a period")
struct CurrencyAndBoundaryTests {
    static func date(_ text: String) -> Date { try! Date(text, strategy: .iso8601) }

    /// A two-plan catalog in `currency` and one organization billed in it, on `basic` monthly from January 1.
    static func engine(_ directory: TemporaryDirectory, _ currency: Currency, basic: String, premium: String)
        async throws -> Engine
    {
        let engine = try Engine(directory: directory.path)
        let start = date("2025-01-01T00:00:00Z")
        for (id, price) in [("basic", basic), ("premium", premium)] {
            var plan = try Plan.defaults(currency: currency)[1]
            plan.id = id
            plan.trialDays = 0
            plan.monthlyPrice = try Money(price, currency: currency)
            plan.annualPrice = nil
            try await engine.definePlan(plan, at: start)
        }
        try await engine.register(
            OrganizationRegistration(
                id: "org_c", name: "C", billingEmail: "ap@c.test", country: "JP", currency: currency), at: start)
        try await engine.subscribe("org_c", to: "basic", interval: .monthly, at: start)
        return engine
    }

    static func lastChange(_ engine: Engine) throws -> Tally_V1_PlanChanged {
        let head = try #require(try engine.log.head())
        let event = try #require(try engine.log.event(at: head.sequence))
        return try Tally_V1_PlanChanged(serializedBytes: event.payload)
    }

    @Test("JPY (no decimals): an upgrade prorates to whole yen and renewals carry yen prices")
    func yen() async throws {
        let directory = TemporaryDirectory()
        let engine = try await Self.engine(directory, .jpy, basic: "3000", premium: "10000")
        try await engine.changePlan("org_c", to: "premium", interval: .monthly, at: Self.date("2025-01-11T00:00:00Z"))
        let change = try Self.lastChange(engine)
        // 21 of 31 days remain: credit 3000 × 21/31 = 2032.26 → 2032; charge 10000 × 21/31 = 6774.19 → 6774.
        #expect(try change.prorationCredit.decoded(field: "credit") == Money("-2032", currency: .jpy))
        #expect(try change.prorationCharge.decoded(field: "charge") == Money("6774", currency: .jpy))
        try await engine.advance(to: Self.date("2025-02-01T00:00:00Z"))
        #expect(try engine.subscription(of: "org_c")?.recurringPrice == Money("10000", currency: .jpy))
    }

    @Test("KWD (three decimals): proration keeps fils, and the price survives renewal exactly")
    func dinar() async throws {
        let directory = TemporaryDirectory()
        let engine = try await Self.engine(directory, .kwd, basic: "9.500", premium: "30.125")
        try await engine.changePlan("org_c", to: "premium", interval: .monthly, at: Self.date("2025-01-11T00:00:00Z"))
        let change = try Self.lastChange(engine)
        // 9.500 × 21/31 = 6.435483… → 6.435; 30.125 × 21/31 = 20.407258… → 20.407.
        #expect(try change.prorationCredit.decoded(field: "credit") == Money("-6.435", currency: .kwd))
        #expect(try change.prorationCharge.decoded(field: "charge") == Money("20.407", currency: .kwd))
        try await engine.advance(to: Self.date("2025-03-01T00:00:00Z"))
        #expect(try engine.subscription(of: "org_c")?.recurringPrice == Money("30.125", currency: .kwd))
    }

    @Test(
        "an upgrade in the last second of a period applies now, prorates to nothing, and the renewal is at the new price"
    )
    func lastSecondUpgrade() async throws {
        let directory = TemporaryDirectory()
        let engine = try await Self.engine(directory, .usd, basic: "30", premium: "60")
        let record = try await engine.changePlan(
            "org_c", to: "premium", interval: .monthly, at: Self.date("2025-01-31T23:59:59Z"))
        #expect(record.subscription.planID == "premium")
        let change = try Self.lastChange(engine)
        #expect(try change.prorationCredit.decoded(field: "credit").isZero)
        #expect(try change.prorationCharge.decoded(field: "charge").isZero)
        try await engine.advance(to: Self.date("2025-02-01T00:00:00Z"))
        let renewed = try #require(try engine.subscription(of: "org_c"))
        #expect(renewed.currentPeriod?.start == Self.date("2025-02-01T00:00:00Z"))
        #expect(try renewed.recurringPrice == Money("60", currency: .usd))
    }
}
