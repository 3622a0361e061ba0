import Billing
import BillingEvents
import EventLog
import Foundation
import ReadModels
import Tally
import TallyTestSupport
import Testing

@Suite("Engine: plan changes")
struct PlanChangeTests {
    static func date(_ text: String) -> Date { try! Date(text, strategy: .iso8601) }
    static let january1 = date("2025-01-01T00:00:00Z")
    static let january16 = date("2025-01-16T00:00:00Z")

    static func plan(_ id: String, monthly: String, annual: String? = nil) throws -> Plan {
        var plan = try Plan.defaults()[1]
        plan.id = id
        plan.name = id.capitalized
        plan.trialDays = 0
        plan.monthlyPrice = try Money(monthly, currency: .usd)
        plan.annualPrice = try annual.map { try Money($0, currency: .usd) }
        return plan
    }

    /// org_p subscribed to `planID` monthly from January 1, 2025, with starter ($30),
    /// growth ($60) and scale ($200) in the catalog.
    static func engine(_ directory: TemporaryDirectory, on planID: String) async throws -> Engine {
        let engine = try Engine(directory: directory.path)
        try await engine.definePlan(try plan("starter", monthly: "30", annual: "300"), at: january1)
        try await engine.definePlan(try plan("growth", monthly: "60"), at: january1)
        try await engine.definePlan(try plan("scale", monthly: "200"), at: january1)
        try await engine.register(
            OrganizationRegistration(id: "org_p", name: "P", billingEmail: "ap@p.test", country: "US", currency: .usd),
            at: january1)
        try await engine.subscribe("org_p", to: planID, interval: .monthly, at: january1)
        return engine
    }

    static func lastChange(_ engine: Engine) throws -> Tally_V1_PlanChanged {
        let head = try #require(try engine.log.head())
        let event = try #require(try engine.log.event(at: head.sequence))
        #expect(event.eventType == BillingEventType.planChanged.rawValue)
        return try Tally_V1_PlanChanged(serializedBytes: event.payload)
    }

    @Test("an upgrade mid-month applies now, prorated to the second, and the amounts are in the event")
    func upgrade() async throws {
        let directory = TemporaryDirectory()
        let engine = try await Self.engine(directory, on: "starter")
        let record = try await engine.changePlan("org_p", to: "growth", interval: .monthly, at: Self.january16)
        #expect(record.subscription.planID == "growth")
        #expect(record.recurringPrice == (try Money("60", currency: .usd)))
        let change = try Self.lastChange(engine)
        #expect(change.immediate)
        #expect(try change.prorationCredit.decoded(field: "credit") == Money("-15.48", currency: .usd))
        #expect(try change.prorationCharge.decoded(field: "charge") == Money("30.97", currency: .usd))
    }

    @Test("a downgrade waits for the period's end, costing nothing now")
    func downgrade() async throws {
        let directory = TemporaryDirectory()
        let engine = try await Self.engine(directory, on: "growth")
        let record = try await engine.changePlan("org_p", to: "starter", interval: .monthly, at: Self.january16)
        #expect(record.subscription.planID == "growth")
        #expect(record.subscription.scheduledChange?.planID == "starter")
        let change = try Self.lastChange(engine)
        #expect(!change.immediate)
        #expect(change.effectiveAt.date == Self.date("2025-02-01T00:00:00Z"))
        #expect(change.prorationCredit.minorUnits == 0 && change.prorationCharge.minorUnits == 0)
    }

    @Test("a downgrade then an upgrade in the same period: the upgrade applies now, the downgrade is dropped")
    func downgradeThenUpgrade() async throws {
        let directory = TemporaryDirectory()
        let engine = try await Self.engine(directory, on: "growth")
        try await engine.changePlan("org_p", to: "starter", interval: .monthly, at: Self.january16)
        let record = try await engine.changePlan(
            "org_p", to: "scale", interval: .monthly, at: Self.january16.addingTimeInterval(3600))
        #expect(record.subscription.planID == "scale")
        #expect(record.subscription.scheduledChange == nil)
        #expect(try Self.lastChange(engine).fromPlanID == "growth")
    }

    @Test("a downgrade asked to apply now is prorated: the credit exceeds the charge")
    func immediateDowngrade() async throws {
        let directory = TemporaryDirectory()
        let engine = try await Self.engine(directory, on: "growth")
        let record = try await engine.changePlan(
            "org_p", to: "starter", interval: .monthly, at: Self.january16, immediately: true)
        #expect(record.subscription.planID == "starter")
        let change = try Self.lastChange(engine)
        #expect(try change.prorationCredit.decoded(field: "credit") == Money("-30.97", currency: .usd))  // 6000 × 16/31
        #expect(try change.prorationCharge.decoded(field: "charge") == Money("15.48", currency: .usd))  // 3000 × 16/31
    }

    @Test("a change of interval starts a new period now: unused time credited, the new interval charged in full")
    func intervalChange() async throws {
        let directory = TemporaryDirectory()
        let engine = try await Self.engine(directory, on: "starter")
        let record = try await engine.changePlan("org_p", to: "starter", interval: .annual, at: Self.january16)
        #expect(record.subscription.interval == .annual)
        #expect(record.subscription.schedule.anchor == Self.january16)
        let change = try Self.lastChange(engine)
        #expect(try change.prorationCredit.decoded(field: "credit") == Money("-15.48", currency: .usd))
        #expect(try change.prorationCharge.decoded(field: "charge") == Money("300", currency: .usd))
    }

    @Test("during a trial a change applies now and costs nothing")
    func duringTrial() async throws {
        let directory = TemporaryDirectory()
        let engine = try Engine(directory: directory.path)
        try await engine.initializeDefaultPlans(at: Self.january1)
        try await engine.register(
            OrganizationRegistration(id: "org_t", name: "T", billingEmail: "ap@t.test", country: "US", currency: .usd),
            at: Self.january1)
        try await engine.subscribe("org_t", to: "professional", interval: .monthly, at: Self.january1)
        let record = try await engine.changePlan(
            "org_t", to: "free", interval: .monthly, at: Self.date("2025-01-05T00:00:00Z"))
        #expect(record.subscription.planID == "free")
        #expect(record.subscription.status.name == "trialing")
        let change = try Self.lastChange(engine)
        #expect(change.immediate && change.prorationCredit.minorUnits == 0 && change.prorationCharge.minorUnits == 0)
    }

    @Test("unknown and archived plans are refused; a retried change appends nothing")
    func refusalsAndRetries() async throws {
        let directory = TemporaryDirectory()
        let engine = try await Self.engine(directory, on: "starter")
        await #expect(throws: EngineError.notFound("plan platinum")) {
            try await engine.changePlan("org_p", to: "platinum", interval: .monthly, at: Self.january16)
        }
        try await engine.archivePlan("scale", at: Self.january1)
        await #expect(throws: EngineError.conflict("plan scale is archived and takes no new subscriptions")) {
            try await engine.changePlan("org_p", to: "scale", interval: .monthly, at: Self.january16)
        }
        try await engine.changePlan(
            "org_p", to: "growth", interval: .monthly, at: Self.january16, idempotencyKey: "chg-1")
        let head = try engine.log.head()?.sequence
        try await engine.changePlan(
            "org_p", to: "growth", interval: .monthly, at: Self.january16, idempotencyKey: "chg-1")
        #expect(try engine.log.head()?.sequence == head)
    }
}
