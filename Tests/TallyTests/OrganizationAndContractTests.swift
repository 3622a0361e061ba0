import Billing
import EventLog
import Foundation
import ReadModels
import Tally
import TallyTestSupport
import Testing

@Suite("Engine: organization updates, enterprise contracts and configured quotas")
struct OrganizationAndContractTests {
    static let now = SubscribeCommandTests.now
    static func usd(_ text: String) -> Money { try! Money(text, currency: .usd) }

    @Test("an update changes only the fields it sets, and survives a rebuild")
    func update() async throws {
        let directory = TemporaryDirectory()
        let engine = try await SubscribeCommandTests.engine(directory)
        let updated = try await engine.updateOrganization(
            "org_us", OrganizationUpdate(name: "US Co Inc", paymentMethod: "pm_card_visa"), at: Self.now)
        #expect(
            updated.name == "US Co Inc" && updated.billingEmail == "ap@us.test"
                && updated.paymentMethod == "pm_card_visa")
        try await engine.updateOrganization("org_us", OrganizationUpdate(paymentMethod: ""), at: Self.now)
        #expect(try engine.organization("org_us")?.paymentMethod == "")
        let before = try engine.projections.flatDump(CatalogProjector.name)
        try engine.projections.rebuild(CatalogProjector.name)
        #expect(try engine.projections.flatDump(CatalogProjector.name) == before)
    }

    @Test(
        "bad updates name the field and append nothing",
        arguments: [
            ("billing_email", OrganizationUpdate(billingEmail: "nope")),
            ("country", OrganizationUpdate(country: "Germany")),
            ("name", OrganizationUpdate(name: "")),
            ("payment_method", OrganizationUpdate(paymentMethod: "pm card")),
            ("update", OrganizationUpdate()),
        ])
    func badUpdates(field: String, update: OrganizationUpdate) async throws {
        let directory = TemporaryDirectory()
        let engine = try await SubscribeCommandTests.engine(directory)
        let head = try engine.log.head()
        await #expect {
            try await engine.updateOrganization("org_us", update, at: Self.now)
        } throws: { error in
            guard case EngineError.invalid(let named, _) = error else { return false }
            return named == field
        }
        #expect(try engine.log.head() == head)
        await #expect(throws: EngineError.notFound("organization org_nobody")) {
            try await engine.updateOrganization("org_nobody", OrganizationUpdate(name: "X"), at: Self.now)
        }
    }

    @Test(
        "a contract's price applies to a subscription of its base plan at its interval, and is refused when inconsistent"
    )
    func contract() async throws {
        let directory = TemporaryDirectory()
        let engine = try await SubscribeCommandTests.engine(directory)
        let contract = CustomPricing(
            organizationID: "org_us", basePlanID: "enterprise", currency: .usd, interval: .everyMonths(6),
            recurringPrice: Self.usd("2400"),
            metricPrices: ["api_calls": .perUnit(unitPrice: try ExactDecimal("0.0002"))],
            included: ["api_calls": 50_000_000],
            minimumCommitment: Self.usd("3000"), contractStart: Self.now,
            contractEnd: Self.now.addingTimeInterval(366 * 86_400))
        try await engine.agreeCustomPricing(contract, at: Self.now)
        #expect(try engine.contract(of: "org_us") == contract)
        try await engine.updateOrganization("org_us", OrganizationUpdate(paymentMethod: "pm_card_visa"), at: Self.now)
        try await engine.subscribe("org_us", to: "enterprise", interval: .everyMonths(6), at: Self.now)
        try await engine.advance(to: Self.now.addingTimeInterval(31 * 86_400))  // the 30-day trial converts
        let record = try #require(try engine.subscription(of: "org_us"))
        #expect(record.subscription.status == .active && record.recurringPrice == Self.usd("2400"))

        let head = try engine.log.head()
        var foreign = contract
        foreign.currency = Currency.eur
        foreign.recurringPrice = try Money("1", currency: .eur)
        foreign.minimumCommitment = nil
        await #expect(
            throws: EngineError.invalid(field: "currency", rule: "org_us is billed in USD, the contract is in EUR")
        ) {
            try await engine.agreeCustomPricing(foreign, at: Self.now)
        }
        var unmetered = contract
        unmetered.included = ["gpu_hours": 5]
        await #expect(
            throws: EngineError.invalid(field: "metric_prices", rule: "plan enterprise does not meter gpu_hours")
        ) {
            try await engine.agreeCustomPricing(unmetered, at: Self.now)
        }
        var backwards = contract
        backwards.contractEnd = backwards.contractStart
        await #expect(throws: EngineError.invalid(field: "contract_end", rule: "must be after contract_start")) {
            try await engine.agreeCustomPricing(backwards, at: Self.now)
        }
        #expect(try engine.log.head() == head)
    }

    @Test("a configured quota overrides the plan's limits until removed")
    func configuredQuota() async throws {
        let directory = TemporaryDirectory()
        let engine = try await UsageTests.freeEngine(directory)
        try await engine.configureQuota("org_us", metric: "api_calls", softLimit: 100, hardLimit: 150, at: Self.now)
        try await engine.recordUsage(UsageTests.calls(150))
        await #expect(throws: EngineError.quotaExceeded(metric: "api_calls", limit: 150, usage: 150)) {
            try await engine.recordUsage(UsageTests.calls(1))
        }
        try await engine.removeQuota("org_us", metric: "api_calls", at: Self.now)
        try await engine.recordUsage(UsageTests.calls(1))
        #expect(try engine.quota(for: "org_us", metric: "api_calls", at: Self.now).hardLimit == 10_000)
        await #expect(throws: EngineError.notFound("a quota configured for org_us on api_calls")) {
            try await engine.removeQuota("org_us", metric: "api_calls", at: Self.now)
        }
        await #expect(throws: EngineError.invalid(field: "soft_limit", rule: "must not exceed hard_limit (10 > 5)")) {
            try await engine.configureQuota("org_us", metric: "api_calls", softLimit: 10, hardLimit: 5, at: Self.now)
        }
        await #expect(throws: EngineError.invalid(field: "hard_limit", rule: "must not be negative, got -1")) {
            try await engine.configureQuota("org_us", metric: "api_calls", softLimit: nil, hardLimit: -1, at: Self.now)
        }
        // Both limits off: unlimited for this organization.
        try await engine.configureQuota("org_us", metric: "api_calls", softLimit: nil, hardLimit: nil, at: Self.now)
        try await engine.recordUsage(UsageTests.calls(50_000))
        #expect(try engine.quota(for: "org_us", metric: "api_calls", at: Self.now).usage == 50_151)
    }
}
