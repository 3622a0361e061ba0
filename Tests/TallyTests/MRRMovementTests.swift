import Billing
import Foundation
import ReadModels
import Tally
import TallyTestSupport
import Testing

/// Issue 6: MRR and its movements through the engine, on hand-computed scenarios.
@Suite("Engine: MRR, ARR and movements")
struct MRRMovementTests {
    static func date(_ text: String) -> Date { try! Date(text + "T00:00:00Z", strategy: .iso8601) }
    static func day(_ text: String) -> Int32 { UTCDay.number(of: date(text)) }

    /// starter $30 (annual $300), growth $60, scale $200, no trials; every organization registered on `signup`.
    static func engine(_ directory: TemporaryDirectory, organizations: [String], signup: String = "2025-01-01")
        async throws -> Engine
    {
        let engine = try Engine(directory: directory.path)
        for (id, monthly, annual) in [("starter", "30", "300"), ("growth", "60", "600"), ("scale", "200", "2000")] {
            try await engine.definePlan(
                try PlanChangeTests.plan(id, monthly: monthly, annual: annual), at: date("2025-01-01"))
        }
        for id in organizations { try await register(engine, id, on: signup) }
        return engine
    }

    static func register(_ engine: Engine, _ id: String, on day: String, card: String = "pm_card_visa") async throws {
        try await engine.register(
            OrganizationRegistration(
                id: id, name: id, billingEmail: "ap@\(id).test", country: "US", currency: .usd, paymentMethod: card),
            at: date(day))
    }

    static func ledger(_ engine: Engine) throws -> RevenueLedger {
        let ledgers = try engine.live.revenueLedgers()
        #expect(ledgers.map(\.currency) == [.usd])
        return try #require(ledgers.first)
    }

    static func month(_ year: Int, _ month: Int) -> CalendarMonth { CalendarMonth(year: year, month: month) }

    @Test(
        "new business, expansion, contraction, churn and reactivation, each on its day, adding up to the change in MRR")
    func everyMovementType() async throws {
        let directory = TemporaryDirectory()
        let engine = try await Self.engine(directory, organizations: ["org_a"])
        try await engine.subscribe("org_a", to: "starter", interval: .monthly, at: Self.date("2025-01-01"))
        try await engine.changePlan(
            "org_a", to: "growth", interval: .monthly, at: Self.date("2025-01-16"), immediately: true)
        try await engine.changePlan(
            "org_a", to: "starter", interval: .monthly, at: Self.date("2025-02-10"), immediately: true)
        try await engine.cancelSubscription("org_a", at: Self.date("2025-03-05"), immediately: true)
        try await engine.subscribe("org_a", to: "growth", interval: .monthly, at: Self.date("2025-04-01"))

        let ledger = try Self.ledger(engine)
        let months = ledger.intervals(from: Self.day("2025-01-01"), through: Self.day("2025-04-30"), monthly: true)
        #expect(months.map(\.endingMRR) == [6_000, 3_000, 0, 6_000])
        #expect(months.map(\.endingCustomers) == [1, 1, 0, 1])
        #expect(months[0].movements.amount(.newBusiness) == 3_000)
        #expect(months[0].movements.amount(.expansion) == 3_000)
        #expect(months[1].movements.amount(.contraction) == -3_000)
        #expect(months[2].movements.amount(.churn) == -3_000)
        #expect(months[2].movements.count(.churn) == 1)
        #expect(months[3].movements.amount(.reactivation) == 6_000)
        #expect(
            months[3].movements.count(.newBusiness) == 0, "a returning customer is a reactivation, not new business")
        for month in months { #expect(month.endingMRR - month.startingMRR == month.movements.net) }

        let days = ledger.intervals(from: Self.day("2025-01-15"), through: Self.day("2025-01-17"), monthly: false)
        #expect(days.map(\.startingMRR) == [3_000, 3_000, 6_000])
        #expect(days[1].movements.amount(.expansion) == 3_000, "the upgrade moves MRR on its own day")
        let history = try #require(try engine.live.customerHistory(of: "org_a"))
        #expect(history.mrr == 6_000)
        #expect(
            history.movements.map(\.movement.kind) == [.newBusiness, .expansion, .contraction, .churn, .reactivation])
    }

    @Test("annual, quarterly and custom-interval fees are normalized to a month, half up; ARR is 12 × MRR")
    func intervals() async throws {
        let directory = TemporaryDirectory()
        let engine = try await Self.engine(directory, organizations: ["org_y", "org_q", "org_c"])
        let start = Self.date("2025-01-01")
        for (id, interval, price) in [("org_q", BillingInterval.quarterly, "1500"), ("org_c", .everyMonths(6), "1000")]
        {
            try await engine.agreeCustomPricing(
                CustomPricing(
                    organizationID: id, basePlanID: "scale", currency: .usd, interval: interval,
                    recurringPrice: try Money(price, currency: .usd),
                    contractStart: start, contractEnd: Self.date("2027-01-01")), at: start)
        }
        try await engine.subscribe("org_y", to: "starter", interval: .annual, at: start)
        try await engine.subscribe("org_q", to: "scale", interval: .quarterly, at: start)
        try await engine.subscribe("org_c", to: "scale", interval: .everyMonths(6), at: start)

        let histories = Dictionary(
            uniqueKeysWithValues: try engine.live.customerHistories().map { ($0.organizationID, $0.mrr) })
        // 300/12, 1500/3, 1000/6 = 166.666… → 166.67
        #expect(histories == ["org_y": 2_500, "org_q": 50_000, "org_c": 16_667])
        let standing = try Self.ledger(engine).standing(atEndOf: Self.day("2025-06-30"))
        #expect(standing.mrr == 69_167)
        #expect(standing.customers == 3)
        let year = try engine.live.revenueLedgers()[0].intervals(
            from: Self.day("2025-01-01"), through: Self.day("2025-12-31"), monthly: true)
        #expect(year.allSatisfy { $0.endingMRR == 69_167 }, "renewals at the same price move nothing")
    }

    @Test("the monthly rates, computed by hand: churn, gross and net revenue churn, NRR, ARPA and LTV")
    func monthlyRates() async throws {
        let directory = TemporaryDirectory()
        let engine = try await Self.engine(directory, organizations: ["org_a", "org_b", "org_c", "org_d"])
        let january = Self.date("2025-01-01")
        for (id, plan) in [("org_a", "starter"), ("org_b", "growth"), ("org_c", "scale"), ("org_d", "starter")] {
            try await engine.subscribe(id, to: plan, interval: .monthly, at: january)
        }
        try await engine.changePlan(
            "org_a", to: "growth", interval: .monthly, at: Self.date("2025-02-10"), immediately: true)  // +30
        try await engine.changePlan(
            "org_b", to: "starter", interval: .monthly, at: Self.date("2025-02-12"), immediately: true)  // −30
        try await engine.cancelSubscription("org_c", at: Self.date("2025-02-15"), immediately: true)  // −200
        try await Self.register(engine, "org_e", on: "2025-02-20")
        try await engine.subscribe("org_e", to: "growth", interval: .monthly, at: Self.date("2025-02-20"))  // +60
        try await engine.subscribe("org_c", to: "starter", interval: .monthly, at: Self.date("2025-03-01"))  // +30 back

        let february = try Self.ledger(engine).metrics(for: Self.month(2025, 2))
        #expect(february.interval.startingMRR == 32_000)
        #expect(february.interval.endingMRR == 18_000)
        #expect(february.interval.startingCustomers == 4)
        #expect(february.interval.endingCustomers == 4)
        #expect(february.customerChurnRate.percent() == (try ExactDecimal("25.00")))  // 1 of 4
        #expect(february.grossRevenueChurnRate.percent() == (try ExactDecimal("71.88")))  // (200 + 30) / 320 = 71.875%
        #expect(february.netRevenueChurnRate.percent() == (try ExactDecimal("62.50")))  // (230 − 30) / 320
        // a 60 + b 30 + c 0 + d 30 = 120 of 320
        #expect(february.netRevenueRetention.percent() == (try ExactDecimal("37.50")))
        #expect(february.arpa == (try Money("45", currency: .usd)))  // 180 / 4
        #expect(february.lifetimeValue == (try Money("180", currency: .usd)))  // 45 / 25%

        let march = try Self.ledger(engine).metrics(for: Self.month(2025, 3))
        #expect(march.interval.movements.amount(.reactivation) == 3_000)
        #expect(march.customerChurnRate.percent() == .zero)
        #expect(march.lifetimeValue == nil, "no churn: LTV is undefined rather than infinite")
        #expect(march.netRevenueChurnRate.percent() == (try ExactDecimal("-16.67")))  // −30 / 180

        let cohorts = try engine.live.cohorts(currency: .usd, through: Self.day("2025-03-31")).cohorts
        #expect(cohorts.map(\.month) == [Self.month(2025, 1), Self.month(2025, 2)])
        #expect(cohorts[0].customers == 4)
        #expect(cohorts[0].initialMRR == 32_000)
        #expect(cohorts[0].payingCustomers == [4, 3, 4])
        #expect(cohorts[0].mrr == [32_000, 12_000, 15_000])
        #expect(cohorts[0].logoRetention(1).percent() == (try ExactDecimal("75.00")))
        #expect(cohorts[1].payingCustomers == [1, 1])
        #expect(cohorts[1].mrr == [6_000, 6_000])
    }

    @Test("joining and churning in the same month: one new customer, one churned, and the churn rate counts it")
    func joinAndChurnInOneMonth() async throws {
        let directory = TemporaryDirectory()
        let engine = try await Self.engine(directory, organizations: ["org_old", "org_new"])
        try await engine.subscribe("org_old", to: "starter", interval: .monthly, at: Self.date("2025-01-01"))
        try await engine.subscribe("org_new", to: "growth", interval: .monthly, at: Self.date("2025-02-03"))
        try await engine.cancelSubscription("org_new", at: Self.date("2025-02-20"), immediately: true)
        let february = try Self.ledger(engine).metrics(for: Self.month(2025, 2))
        #expect(february.interval.movements.count(.newBusiness) == 1)
        #expect(february.interval.movements.count(.churn) == 1)
        #expect(february.interval.movements.amount(.churn) == -6_000)
        #expect(february.interval.endingMRR == 3_000)
        #expect(
            february.customerChurnRate.percent() == (try ExactDecimal("100.00")),
            "1 churned over 1 customer at the start")
        #expect(
            february.grossRevenueChurnRate.percent() == (try ExactDecimal("200.00")), "60 lost over 30 at the start")
    }

    @Test("trials bring no MRR; a converted trial is new business on the trial's end; conversion by trial cohort")
    func trials() async throws {
        let directory = TemporaryDirectory()
        let engine = try Engine(directory: directory.path)
        let start = Self.date("2025-01-10")
        try await engine.initializeDefaultPlans(at: start)
        try await Self.register(engine, "org_pays", on: "2025-01-10")
        try await Self.register(engine, "org_lapses", on: "2025-01-10", card: "")
        try await engine.subscribe("org_pays", to: "professional", interval: .monthly, at: start)  // 14-day trial, $49
        try await engine.subscribe("org_lapses", to: "professional", interval: .monthly, at: start)
        #expect(try engine.live.revenueLedgers().isEmpty, "trials bring no MRR: no movement yet")
        try await engine.advance(to: Self.date("2025-02-01"))
        let days = try Self.ledger(engine).intervals(
            from: Self.day("2025-01-24"), through: Self.day("2025-01-24"), monthly: false)
        #expect(days[0].movements.amount(.newBusiness) == 4_900)
        #expect(days[0].endingCustomers == 1)
        let conversion = try engine.live.trialConversion().cohorts
        #expect(conversion.count == 1)
        #expect(conversion[0].started == 2)
        #expect(conversion[0].converted == 1)
        #expect(conversion[0].expired == 1)
        #expect(conversion[0].conversionRate.percent() == (try ExactDecimal("50.00")))
    }

    @Test("past due and grace keep MRR (the customer still owes it); grace running out unpaid is churn on that day")
    func pastDue() async throws {
        let directory = TemporaryDirectory()
        let engine = try await Self.engine(directory, organizations: ["org_late"])
        try await engine.subscribe("org_late", to: "growth", interval: .monthly, at: Self.date("2025-01-01"))
        try await engine.markPastDue("org_late", at: Self.date("2025-01-10"))
        try await engine.startGracePeriod("org_late", until: Self.date("2025-01-20"), at: Self.date("2025-01-12"))
        #expect(try Self.ledger(engine).standing(atEndOf: Self.day("2025-01-19")).mrr == 6_000)
        try await engine.advance(to: Self.date("2025-01-25"))
        let ledger = try Self.ledger(engine)
        #expect(ledger.standing(atEndOf: Self.day("2025-01-19")).mrr == 6_000)
        #expect(ledger.standing(atEndOf: Self.day("2025-01-20")).mrr == 0)
        #expect(
            ledger.intervals(from: Self.day("2025-01-20"), through: Self.day("2025-01-20"), monthly: false)[0].movements
                .count(.churn) == 1)
    }

    @Test("a scheduled cancellation churns at the period's end, not when it is asked for")
    func churnAtPeriodEnd() async throws {
        let directory = TemporaryDirectory()
        let engine = try await Self.engine(directory, organizations: ["org_leaving"])
        try await engine.subscribe("org_leaving", to: "growth", interval: .monthly, at: Self.date("2025-01-01"))
        try await engine.cancelSubscription("org_leaving", at: Self.date("2025-01-10"))
        try await engine.advance(to: Self.date("2025-02-05"))
        let ledger = try Self.ledger(engine)
        #expect(ledger.standing(atEndOf: Self.day("2025-01-31")).mrr == 6_000)
        #expect(ledger.standing(atEndOf: Self.day("2025-02-01")).mrr == 0)
    }

    @Test("as of a past date, the MRR read model equals the log cut there, and a rebuild equals the live one")
    func asOfAndRebuild() async throws {
        let directory = TemporaryDirectory()
        let engine = try await Self.engine(directory, organizations: ["org_a", "org_b"])
        try await engine.subscribe("org_a", to: "starter", interval: .monthly, at: Self.date("2025-01-01"))
        try await engine.subscribe("org_b", to: "scale", interval: .monthly, at: Self.date("2025-02-01"))
        try await engine.cancelSubscription("org_a", at: Self.date("2025-03-01"), immediately: true)
        let then = try engine.view(asOf: .occurredAt(Self.date("2025-02-15")))
        let ledger = try #require(try then.revenueLedgers().first)
        #expect(
            ledger.standing(atEndOf: Self.day("2025-12-31")).mrr == 23_000,
            "the March cancellation had not happened yet")
        let before = try engine.projections.flatDump(MRRProjector.name)
        try engine.projections.rebuild(MRRProjector.name, batchSize: 3)
        #expect(try engine.projections.flatDump(MRRProjector.name) == before)
    }
}

extension MRRMovementTests {
    @Test("MRR is kept per currency, never converted: a EUR, a USD and a zero-decimal JPY customer")
    func currencies() async throws {
        let directory = TemporaryDirectory()
        let engine = try Engine(directory: directory.path)
        let start = Self.date("2025-01-01")
        for (id, currency, monthly) in [
            ("team_eur", Currency.eur, "39"), ("team_usd", .usd, "49"), ("team_jpy", .jpy, "5000"),
        ] {
            var plan = try PlanChangeTests.plan(id, monthly: "1")
            plan.currency = currency
            plan.monthlyPrice = try Money(monthly, currency: currency)
            plan.annualPrice = try Money(monthly, currency: currency).multiplied(by: 10)
            plan.metrics = [:]
            try await engine.definePlan(plan, at: start)
        }
        for (id, currency, plan, interval) in [
            ("org_eu", Currency.eur, "team_eur", BillingInterval.monthly), ("org_us", .usd, "team_usd", .monthly),
            ("org_jp", .jpy, "team_jpy", .annual),
        ] {
            try await engine.register(
                OrganizationRegistration(
                    id: id, name: id, billingEmail: "ap@\(id).test", country: "DE", currency: currency,
                    paymentMethod: "pm_card_visa"),
                at: start)
            try await engine.subscribe(id, to: plan, interval: interval, at: start)
        }
        let ledgers = try engine.live.revenueLedgers()
        #expect(ledgers.map(\.currency.code) == ["EUR", "JPY", "USD"])
        let standing = ledgers.map { $0.standing(atEndOf: Self.day("2025-01-31")) }
        #expect(standing.map(\.mrr) == [3_900, 4_167, 4_900])  // ¥50,000 a year ÷ 12 = 4,166.7 → ¥4,167
        #expect(standing.allSatisfy { $0.customers == 1 })
    }
}
