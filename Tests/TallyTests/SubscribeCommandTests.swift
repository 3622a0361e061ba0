import Billing
import EventLog
import Foundation
import ReadModels
import Tally
import TallyTestSupport
import Testing

@Suite("Engine: subscribing")
struct SubscribeCommandTests {
    static let now = Date(timeIntervalSince1970: 1_764_000_000)  // 2025-11-24T16:00:00Z

    /// An engine with the default plans in USD and one US organization.
    static func engine(_ directory: TemporaryDirectory) async throws -> Engine {
        let engine = try Engine(directory: directory.path)
        try await engine.initializeDefaultPlans(at: now)
        try await engine.register(
            OrganizationRegistration(
                id: "org_us", name: "US Co", billingEmail: "ap@us.test", country: "US-NY", currency: .usd), at: now)
        return engine
    }

    @Test("a plan with trial days starts in trial; periods begin when the trial ends")
    func trial() async throws {
        let directory = TemporaryDirectory()
        let engine = try await Self.engine(directory)
        let record = try await engine.subscribe("org_us", to: "professional", interval: .monthly, at: Self.now)
        let trialEnd = Self.now.addingTimeInterval(14 * 86_400)
        #expect(record.subscription.status == .trialing(endsAt: trialEnd))
        #expect(record.subscription.schedule.anchor == trialEnd)
        #expect(record.recurringPrice == nil)
        #expect(record.id == "sub_5", "named after its event's sequence: 3 plans, 1 organization, then this")
    }

    @Test("a plan without trial is active at once, with its first period and price")
    func immediate() async throws {
        let directory = TemporaryDirectory()
        let engine = try await Self.engine(directory)
        let record = try await engine.subscribe("org_us", to: "free", interval: .monthly, at: Self.now)
        #expect(record.subscription.status == .active)
        let period = try #require(record.subscription.billingPeriod(at: Self.now))
        #expect(period.start == Self.now)
        #expect(period.end == BillingSchedule.calendarMonthLater(Self.now))
        #expect(record.recurringPrice == Money(minorUnits: 0, currency: .usd))
    }

    @Test("one live subscription per organization; a retry with the same key returns it")
    func oneLive() async throws {
        let directory = TemporaryDirectory()
        let engine = try await Self.engine(directory)
        let first = try await engine.subscribe(
            "org_us", to: "free", interval: .monthly, at: Self.now, idempotencyKey: "signup-1")
        let head = try engine.log.head()?.sequence
        let retry = try await engine.subscribe(
            "org_us", to: "free", interval: .monthly, at: Self.now, idempotencyKey: "signup-1")
        #expect(retry == first)
        #expect(try engine.log.head()?.sequence == head)
        await #expect(
            throws: EngineError.conflict("organization org_us already has a live subscription (\(first.id), active)")
        ) {
            try await engine.subscribe("org_us", to: "enterprise", interval: .annual, at: Self.now)
        }
    }

    @Test("unknown organizations and plans, archived plans and foreign currencies are refused")
    func refusals() async throws {
        let directory = TemporaryDirectory()
        let engine = try await Self.engine(directory)
        await #expect(throws: EngineError.notFound("organization org_nobody")) {
            try await engine.subscribe("org_nobody", to: "free", interval: .monthly, at: Self.now)
        }
        await #expect(throws: EngineError.notFound("plan platinum")) {
            try await engine.subscribe("org_us", to: "platinum", interval: .monthly, at: Self.now)
        }
        try await engine.register(
            OrganizationRegistration(
                id: "org_de", name: "DE GmbH", billingEmail: "ap@de.test", country: "DE", currency: .eur), at: Self.now)
        await #expect(
            throws: EngineError.invalid(
                field: "plan_id", rule: "plan free is priced in USD, but org_de is billed in EUR")
        ) {
            try await engine.subscribe("org_de", to: "free", interval: .monthly, at: Self.now)
        }
        try await engine.archivePlan("enterprise", at: Self.now)
        await #expect(throws: EngineError.conflict("plan enterprise is archived and takes no new subscriptions")) {
            try await engine.subscribe("org_us", to: "enterprise", interval: .monthly, at: Self.now)
        }
        #expect(try engine.subscription(of: "org_us") == nil)
    }

    @Test("the subscriptions read model survives a rebuild byte for byte")
    func rebuild() async throws {
        let directory = TemporaryDirectory()
        let engine = try await Self.engine(directory)
        try await engine.subscribe("org_us", to: "professional", interval: .annual, at: Self.now)
        let before = try engine.projections.flatDump(SubscriptionsProjector.name)
        try engine.projections.rebuild(SubscriptionsProjector.name)
        #expect(try engine.projections.flatDump(SubscriptionsProjector.name) == before)
    }
}

extension BillingSchedule {
    /// The same instant one calendar month later, in UTC.
    static func calendarMonthLater(_ date: Date) -> Date {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar.date(byAdding: .month, value: 1, to: date)!
    }
}
