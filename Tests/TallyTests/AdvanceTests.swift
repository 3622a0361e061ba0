import Billing
import BillingEvents
import EventLog
import Foundation
import ReadModels
import Tally
import TallyTestSupport
import Testing

@Suite("Engine: advance(to:) appends what time makes due")
struct AdvanceTests {
    static func date(_ text: String) -> Date { try! Date(text, strategy: .iso8601) }
    static func usd(_ text: String) -> Money { try! Money(text, currency: .usd) }

    static func plan(_ id: String, monthly: String, annual: String? = nil, trialDays: Int = 0) throws -> Plan {
        var plan = try Plan.defaults()[1]
        plan.id = id
        plan.name = id.capitalized
        plan.trialDays = trialDays
        plan.monthlyPrice = usd(monthly)
        plan.annualPrice = annual.map(usd)
        return plan
    }

    /// An engine with `basic` ($30, no trial), `pro` ($60, 14-day trial) and `team` ($100).
    static func engine(_ directory: TemporaryDirectory, at date: Date) async throws -> Engine {
        let engine = try Engine(directory: directory.path)
        try await engine.definePlan(try plan("basic", monthly: "30", annual: "300"), at: date)
        try await engine.definePlan(try plan("pro", monthly: "60", trialDays: 14), at: date)
        try await engine.definePlan(try plan("team", monthly: "100"), at: date)
        return engine
    }

    static func register(_ engine: Engine, _ id: String, paymentMethod: String = "pm_card_visa", at date: Date)
        async throws
    {
        try await engine.register(
            OrganizationRegistration(
                id: id, name: id, billingEmail: "ap@\(id).test", country: "US", currency: .usd,
                paymentMethod: paymentMethod), at: date)
    }

    /// The subscription events after `sequence` (invoices, which close each period, are
    /// checked on their own in InvoiceRunTests).
    static func events(after sequence: UInt64, in engine: Engine) throws -> [StoredEvent] {
        guard let head = try engine.log.head(), head.sequence > sequence else { return [] }
        return try ((sequence + 1)...head.sequence).map { try #require(try engine.log.event(at: $0)) }
            .filter {
                $0.eventType != BillingEventType.invoiceIssued.rawValue
                    && $0.eventType != BillingEventType.invoiceDrafted.rawValue
            }
    }

    static func renewal(_ event: StoredEvent) throws -> Tally_V1_SubscriptionRenewed {
        #expect(event.eventType == BillingEventType.subscriptionRenewed.rawValue)
        return try Tally_V1_SubscriptionRenewed(serializedBytes: event.payload)
    }

    @Test("a trial that crosses a period boundary converts at its end, and periods run from there")
    func trialCrossesBoundary() async throws {
        let directory = TemporaryDirectory()
        let start = Self.date("2025-01-25T10:00:00Z")
        let engine = try await Self.engine(directory, at: start)
        try await Self.register(engine, "org_t", at: start)
        try await engine.subscribe("org_t", to: "pro", interval: .monthly, at: start)
        let before = try #require(try engine.log.head()).sequence

        let report = try await engine.advance(to: Self.date("2025-03-10T00:00:00Z"))
        let events = try Self.events(after: before, in: engine)
        #expect(
            events.map(\.eventType) == [
                BillingEventType.subscriptionActivated.rawValue, BillingEventType.subscriptionRenewed.rawValue,
            ])
        #expect(report.appended[BillingEventType.subscriptionActivated.rawValue] == 1)
        #expect(report.appended[BillingEventType.subscriptionRenewed.rawValue] == 1)
        #expect(
            report.appended[BillingEventType.invoiceIssued.rawValue] == 1,
            "the first paid period is invoiced at its end")
        let activated = try Tally_V1_SubscriptionActivated(serializedBytes: events[0].payload)
        #expect(events[0].occurredAt == Self.date("2025-02-08T10:00:00Z"))
        #expect(activated.periodStart.date == Self.date("2025-02-08T10:00:00Z"))
        #expect(activated.periodEnd.date == Self.date("2025-03-08T10:00:00Z"))
        #expect(try activated.recurringPrice.decoded(field: "price") == Self.usd("60"))
        let renewed = try Self.renewal(events[1])
        #expect(renewed.periodStart.date == Self.date("2025-03-08T10:00:00Z"))
        #expect(renewed.periodEnd.date == Self.date("2025-04-08T10:00:00Z"))
        let record = try #require(try engine.subscription(of: "org_t"))
        #expect(record.subscription.status == .active)
        #expect(record.currentPeriod?.start == Self.date("2025-03-08T10:00:00Z"))
    }

    @Test("a trial without a payment method on file expires at its end")
    func trialExpires() async throws {
        let directory = TemporaryDirectory()
        let start = Self.date("2025-01-01T00:00:00Z")
        let engine = try await Self.engine(directory, at: start)
        try await Self.register(engine, "org_x", paymentMethod: "", at: start)
        try await engine.subscribe("org_x", to: "pro", interval: .monthly, at: start)
        try await engine.advance(to: Self.date("2025-06-01T00:00:00Z"))
        let record = try #require(try engine.subscription(of: "org_x"))
        #expect(record.subscription.status == .expired(at: Self.date("2025-01-15T00:00:00Z")))
        // A payment method added later does not bring an expired trial back.
        try await engine.updateOrganization(
            "org_x", OrganizationUpdate(paymentMethod: "pm_card_visa"), at: Self.date("2025-06-01T00:00:00Z"))
        #expect(try await engine.advance(to: Self.date("2025-09-01T00:00:00Z")).total == 0)
    }

    @Test("anniversaries on the 31st clamp to short months and come back to the 31st")
    func monthEndAnniversary() async throws {
        let directory = TemporaryDirectory()
        let start = Self.date("2024-01-31T12:00:00Z")
        let engine = try await Self.engine(directory, at: start)
        try await Self.register(engine, "org_m", at: start)
        try await engine.subscribe("org_m", to: "basic", interval: .monthly, at: start)
        let before = try #require(try engine.log.head()).sequence
        try await engine.advance(to: Self.date("2024-05-31T12:00:00Z"))
        let starts = try Self.events(after: before, in: engine).map { try Self.renewal($0).periodStart.date }
        #expect(
            starts == ["2024-02-29", "2024-03-31", "2024-04-30", "2024-05-31"].map { Self.date("\($0)T12:00:00Z") })
    }

    @Test("an annual subscription anchored on leap day renews on February 28, and on the 29th in leap years")
    func leapDayAnniversary() async throws {
        let directory = TemporaryDirectory()
        let start = Self.date("2024-02-29T00:00:00Z")
        let engine = try await Self.engine(directory, at: start)
        try await Self.register(engine, "org_l", at: start)
        try await engine.subscribe("org_l", to: "basic", interval: .annual, at: start)
        let before = try #require(try engine.log.head()).sequence
        try await engine.advance(to: Self.date("2025-03-01T00:00:00Z"))
        let events = try Self.events(after: before, in: engine)
        #expect(events.count == 1)
        let renewed = try Self.renewal(events[0])
        #expect(renewed.periodStart.date == Self.date("2025-02-28T00:00:00Z"))
        #expect(renewed.periodEnd.date == Self.date("2026-02-28T00:00:00Z"))
        #expect(try renewed.recurringPrice.decoded(field: "price") == Self.usd("300"))
    }

    @Test("a second advance to the same date appends nothing; advancing in steps equals one jump")
    func advanceIsIdempotent() async throws {
        let start = Self.date("2025-01-01T00:00:00Z")
        let end = Self.date("2025-07-01T00:00:00Z")
        var logs: [[String]] = []
        for steps in [1, 6] {
            let directory = TemporaryDirectory()
            let engine = try await Self.engine(directory, at: start)
            for index in 0..<5 {
                let joined = start.addingTimeInterval(Double(index) * 86_400 * 3)
                try await Self.register(engine, "org_\(index)", paymentMethod: index == 3 ? "" : "pm", at: joined)
                try await engine.subscribe(
                    "org_\(index)", to: index % 2 == 0 ? "basic" : "pro", interval: .monthly, at: joined)
            }
            for step in 1...steps {
                try await engine.advance(
                    to: start.addingTimeInterval(end.timeIntervalSince(start) * Double(step) / Double(steps)))
            }
            #expect(try await engine.advance(to: end).total == 0)
            let events = try Self.events(after: 0, in: engine).filter { $0.envelope.actor == "tally.advance" }
            #expect(events.map(\.occurredAt) == events.map(\.occurredAt).sorted(), "time order")
            logs.append(events.map { "\($0.organizationID) \($0.eventType) \($0.occurredAt.timeIntervalSince1970)" })
        }
        #expect(logs[0] == logs[1])
        // basic from Jan 1 renews 6 times up to Jul 1 inclusive, from Jan 7 and Jan 13 5 times;
        // org_3's trial expires; org_1's converts on Jan 18 and renews 5 times.
        let expected = 6 + 5 + 5 + 1 + 1 + 5
        #expect(logs[0].count == expected)
    }

    @Test("small commits give the same log as one big commit")
    func batchingDoesNotChangeTheLog() async throws {
        let start = Self.date("2025-01-01T00:00:00Z")
        var logs: [[String]] = []
        for batch in [1, 3, 2_000] {
            let directory = TemporaryDirectory()
            let engine = try await Self.engine(directory, at: start)
            for index in 0..<7 {
                try await Self.register(engine, "org_\(index)", at: start)
                try await engine.subscribe(
                    "org_\(index)", to: "basic", interval: .monthly,
                    at: start.addingTimeInterval(Double(index % 3) * 3_600))
            }
            try await engine.advance(to: Self.date("2025-04-15T00:00:00Z"), eventsPerCommit: batch)
            logs.append(
                try Self.events(after: 0, in: engine).map {
                    "\($0.organizationID) \($0.eventType) \($0.occurredAt.timeIntervalSince1970)"
                })
        }
        #expect(logs[0] == logs[1])
        #expect(logs[0] == logs[2])
    }

    @Test("a cancellation scheduled for the period's end takes effect then; a reactivated one renews")
    func cancellationAtPeriodEnd() async throws {
        let directory = TemporaryDirectory()
        let start = Self.date("2025-01-01T00:00:00Z")
        let engine = try await Self.engine(directory, at: start)
        for id in ["org_c", "org_r"] {
            try await Self.register(engine, id, at: start)
            try await engine.subscribe(id, to: "basic", interval: .monthly, at: start)
            try await engine.cancelSubscription(id, at: Self.date("2025-01-10T00:00:00Z"))
        }
        try await engine.reactivateSubscription("org_r", at: Self.date("2025-01-20T00:00:00Z"))
        try await engine.advance(to: Self.date("2025-02-15T00:00:00Z"))
        #expect(
            try engine.subscription(of: "org_c")?.subscription.status
                == .canceled(at: Self.date("2025-02-01T00:00:00Z")))
        let renewed = try #require(try engine.subscription(of: "org_r"))
        #expect(renewed.subscription.status == .active)
        #expect(renewed.currentPeriod?.start == Self.date("2025-02-01T00:00:00Z"))
        let canceled = try #require(
            try Self.events(after: 0, in: engine).last {
                $0.eventType == BillingEventType.subscriptionCanceled.rawValue
            })
        #expect(try Tally_V1_SubscriptionCanceled(serializedBytes: canceled.payload).reason == .periodEnd)
    }

    @Test("a scheduled downgrade takes effect at the renewal, at the new plan's price")
    func scheduledDowngrade() async throws {
        let directory = TemporaryDirectory()
        let start = Self.date("2025-01-01T00:00:00Z")
        let engine = try await Self.engine(directory, at: start)
        try await Self.register(engine, "org_d", at: start)
        try await engine.subscribe("org_d", to: "team", interval: .monthly, at: start)
        try await engine.changePlan("org_d", to: "basic", interval: .monthly, at: Self.date("2025-01-20T00:00:00Z"))
        #expect(try engine.subscription(of: "org_d")?.subscription.planID == "team")
        try await engine.advance(to: Self.date("2025-02-01T00:00:00Z"))
        let record = try #require(try engine.subscription(of: "org_d"))
        #expect(record.subscription.planID == "basic")
        #expect(record.subscription.scheduledChange == nil)
        #expect(record.recurringPrice == Self.usd("30"))
    }

    @Test("a change to another interval starts a new cycle at the change, which renews on its own anniversary")
    func scheduledIntervalChange() async throws {
        let directory = TemporaryDirectory()
        let start = Self.date("2025-01-31T00:00:00Z")
        let engine = try await Self.engine(directory, at: start)
        try await Self.register(engine, "org_i", at: start)
        try await engine.subscribe("org_i", to: "team", interval: .monthly, at: start)
        // A downgrade by price (basic annual is $25/mo), but a change of interval applies now.
        try await engine.changePlan(
            "org_i", to: "basic", interval: .annual, at: Self.date("2025-02-10T00:00:00Z"), immediately: false)
        let record = try #require(try engine.subscription(of: "org_i"))
        #expect(record.subscription.planID == "basic")
        #expect(record.currentPeriod?.start == Self.date("2025-02-10T00:00:00Z"))
        try await engine.advance(to: Self.date("2026-03-01T00:00:00Z"))
        let after = try #require(try engine.subscription(of: "org_i"))
        #expect(after.currentPeriod?.start == Self.date("2026-02-10T00:00:00Z"))
        #expect(after.recurringPrice == Self.usd("300"))
    }

    @Test("a grace period that runs out cancels the subscription for nonpayment")
    func graceExpiry() async throws {
        let directory = TemporaryDirectory()
        let start = Self.date("2025-01-01T00:00:00Z")
        let engine = try await Self.engine(directory, at: start)
        try await Self.register(engine, "org_g", at: start)
        try await engine.subscribe("org_g", to: "basic", interval: .monthly, at: start)
        try await engine.markPastDue("org_g", at: Self.date("2025-01-03T00:00:00Z"))
        try await engine.startGracePeriod(
            "org_g", until: Self.date("2025-01-17T00:00:00Z"), at: Self.date("2025-01-03T00:00:00Z"))
        await #expect(throws: EngineError.self) {
            try await engine.startGracePeriod(
                "org_g", until: Self.date("2025-01-20T00:00:00Z"), at: Self.date("2025-01-04T00:00:00Z"))
        }
        #expect(try await engine.advance(to: Self.date("2025-01-16T23:59:59Z")).total == 0)
        try await engine.advance(to: Self.date("2025-03-01T00:00:00Z"))
        let record = try #require(try engine.subscription(of: "org_g"))
        #expect(record.subscription.status == .canceled(at: Self.date("2025-01-17T00:00:00Z")))
        let canceled = try #require(try Self.events(after: 0, in: engine).last)
        #expect(try Tally_V1_SubscriptionCanceled(serializedBytes: canceled.payload).reason == .nonpayment)
    }

    @Test("renewals take the contract's price while the contract covers the period, and the plan's after")
    func contractPriceAtRenewal() async throws {
        let directory = TemporaryDirectory()
        let start = Self.date("2025-01-01T00:00:00Z")
        let engine = try await Self.engine(directory, at: start)
        try await Self.register(engine, "org_e", at: start)
        try await engine.subscribe("org_e", to: "team", interval: .quarterly, at: start)
        #expect(try engine.subscription(of: "org_e")?.recurringPrice == Self.usd("300"))
        try await engine.agreeCustomPricing(
            CustomPricing(
                organizationID: "org_e", basePlanID: "team", currency: .usd, interval: .quarterly,
                recurringPrice: Self.usd("250"),
                contractStart: Self.date("2025-03-01T00:00:00Z"), contractEnd: Self.date("2025-09-01T00:00:00Z")),
            at: start)
        let before = try #require(try engine.log.head()).sequence
        try await engine.advance(to: Self.date("2025-10-01T00:00:00Z"))
        let prices = try Self.events(after: before, in: engine).map {
            try Self.renewal($0).recurringPrice.decoded(field: "price")
        }
        #expect(prices == [Self.usd("250"), Self.usd("250"), Self.usd("300")])  // April, July, October
    }

    @Test("two engines advancing the same log at once append each due change once")
    func concurrentAdvance() async throws {
        let directory = TemporaryDirectory()
        let start = Self.date("2025-01-01T00:00:00Z")
        let engine = try await Self.engine(directory, at: start)
        for index in 0..<20 {
            try await Self.register(engine, "org_\(index)", at: start)
            try await engine.subscribe(
                "org_\(index)", to: "basic", interval: .monthly, at: start.addingTimeInterval(Double(index) * 3_600))
        }
        let end = Self.date("2025-12-15T00:00:00Z")
        async let first = engine.advance(to: end, eventsPerCommit: 7)
        async let second = engine.advance(to: end, eventsPerCommit: 5)
        let (a, b) = try await (first, second)
        let renewed = BillingEventType.subscriptionRenewed.rawValue
        let invoiced = BillingEventType.invoiceIssued.rawValue
        let appended: Int = (a.appended[renewed] ?? 0) + (b.appended[renewed] ?? 0)
        let invoices: Int = (a.appended[invoiced] ?? 0) + (b.appended[invoiced] ?? 0)
        #expect(appended == 220 && invoices == 220)
        let renewals = try Self.events(after: 0, in: engine).filter {
            $0.eventType == BillingEventType.subscriptionRenewed.rawValue
        }
        #expect(renewals.count == 220)
        #expect(Set(renewals.map { "\($0.organizationID)\($0.occurredAt)" }).count == renewals.count)
    }

    @Test("a view as of a moment shows the business as it stood then; as of a sequence, the log cut there")
    func viewAsOf() async throws {
        let directory = TemporaryDirectory()
        let start = Self.date("2025-01-01T00:00:00Z")
        let engine = try await Self.engine(directory, at: start)
        try await Self.register(engine, "org_v", at: start)
        try await engine.subscribe("org_v", to: "basic", interval: .monthly, at: start)
        try await engine.changePlan("org_v", to: "team", interval: .monthly, at: Self.date("2025-04-10T00:00:00Z"))
        try await engine.advance(to: Self.date("2025-07-01T00:00:00Z"))
        let march = try engine.view(asOf: .occurredAt(Self.date("2025-03-15T00:00:00Z")))
        let then = try #require(try march.subscription(of: "org_v"))
        #expect(then.subscription.planID == "basic")
        #expect(then.currentPeriod?.start == Self.date("2025-03-01T00:00:00Z"))
        #expect(try engine.subscription(of: "org_v")?.subscription.planID == "team")
        let beforeSignup = try engine.view(asOf: .sequence(3))  // the three plans only
        #expect(try beforeSignup.organization("org_v") == nil)
        #expect(try beforeSignup.plans().count == 3)
    }
}
