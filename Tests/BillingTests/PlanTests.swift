import Billing
import Testing

@Suite("Plans and metrics")
struct PlanTests {
    @Test("the default catalog is Free, Professional and Enterprise, each valid")
    func defaults() throws {
        let plans = try Plan.defaults()
        #expect(plans.map(\.id) == ["free", "professional", "enterprise"])
        #expect(plans.map(\.tier) == [.free, .professional, .enterprise])
        for plan in plans { try plan.validate() }
        #expect(try Plan.defaults() == plans, "defaults are deterministic, so initializing twice finds them equal")
        #expect(try Plan.defaults(currency: .eur).allSatisfy { $0.currency == .eur })
    }

    @Test("recurring prices per interval: months × monthly price, or the annual price")
    func recurringPrices() throws {
        let professional = try Plan.defaults()[1]
        #expect(try professional.recurringPrice(for: .monthly) == Money("49", currency: .usd))
        #expect(try professional.recurringPrice(for: .quarterly) == Money("147", currency: .usd))
        #expect(try professional.recurringPrice(for: .annual) == Money("490", currency: .usd))
        #expect(try professional.recurringPrice(for: .everyMonths(6)) == Money("294", currency: .usd))
    }

    @Test("each plan rule is enforced with the field named")
    func validation() throws {
        var plan = try Plan.defaults()[1]
        plan.id = "Pro Plan"
        #expect(
            throws: BillingError.invalid(field: "plan.id", rule: "must be 1 to 64 of a-z 0-9 _ -, got \"Pro Plan\"")
        ) { try plan.validate() }

        plan = try Plan.defaults()[1]
        plan.trialDays = 400
        #expect(throws: BillingError.invalid(field: "plan.trial_days", rule: "must be from 0 to 365, got 400")) {
            try plan.validate()
        }

        plan = try Plan.defaults()[1]
        plan.monthlyPrice = Money(minorUnits: 4900, currency: .eur)
        #expect(throws: BillingError.currencyMismatch("USD", "EUR")) { try plan.validate() }

        plan = try Plan.defaults()[1]
        plan.metrics["api_calls"]?.softLimit = 6_000_000
        #expect(
            throws: BillingError.invalid(
                field: "plan.metrics.api_calls.soft_limit",
                rule: "must not exceed the hard limit (5000000), got 6000000")
        ) {
            try plan.validate()
        }

        plan = try Plan.defaults()[1]
        plan.monthlyPrice = nil
        plan.annualPrice = nil
        #expect(throws: BillingError.self) { try plan.validate() }

        plan = try Plan.defaults()[1]
        plan.features.insert("Single Sign-On")
        #expect(throws: BillingError.self) { try plan.validate() }
    }

    @Test("metric names and aggregations are checked")
    func metrics() throws {
        #expect(Metric.standard.count == 8)
        #expect(Metric.activeUsers.aggregation == .uniqueCount(property: "user"))
        #expect(throws: BillingError.self) { try Metric("API-Calls", aggregation: .sum) }
        #expect(throws: BillingError.self) { try Metric("seats", aggregation: .uniqueCount(property: "")) }
        #expect(try Metric("gpu_minutes", aggregation: .sum).name == "gpu_minutes")
    }
}
