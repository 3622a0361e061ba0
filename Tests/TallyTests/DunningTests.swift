import Billing
import BillingEvents
import EventLog
import Foundation
import Payments
import ReadModels
import Tally
import TallyTestSupport
import Testing

/// advance(to:) collecting finalized invoices and running dunning, every step an event.
@Suite("Engine: collection and dunning by advance")
struct DunningTests {
    static func date(_ text: String) -> Date { try! Date(text, strategy: .iso8601) }

    /// org_d on `team` ($100 a month) from January 1 with `card`, collected through an
    /// in-process gateway; invoices wait one hour for late usage (the default).
    static func engine(_ directory: TemporaryDirectory, card: String, policy: BillingPolicy = .default) async throws
        -> Engine
    {
        let engine = try await InvoiceRunTests.engine(directory, policy: policy, gateway: InProcessGateway())
        let start = date("2025-01-01T00:00:00Z")
        try await engine.register(
            OrganizationRegistration(
                id: "org_d", name: "D", billingEmail: "ap@d.test", country: "US", currency: .usd, paymentMethod: card),
            at: start)
        try await engine.subscribe("org_d", to: "team", interval: .monthly, at: start)
        return engine
    }

    /// The events after `sequence`, as (type, occurred at).
    static func events(after sequence: UInt64, in engine: Engine) throws -> [(type: String, at: Date)] {
        guard let head = try engine.log.head(), head.sequence > sequence else { return [] }
        return try ((sequence + 1)...head.sequence).map { sequence in
            let event = try #require(try engine.log.event(at: sequence))
            return (event.eventType, event.occurredAt)
        }
    }

    @Test(
        "a service marks the subscription past due after an attempt was due: the grace runs from then, and ends after it began"
    )
    func markedPastDueAfterTheAttemptWasDue() async throws {
        let directory = TemporaryDirectory()
        let policy = BillingPolicy(retrySchedule: RetrySchedule(delaysInDays: []), graceDays: 2)
        let engine = try await Self.engine(directory, card: "pm_card_chargeDeclined", policy: policy)
        // February 5: marked past due by the service, before time has been advanced past February 1.
        try await engine.markPastDue("org_d", at: Self.date("2025-02-05T00:00:00Z"))
        // The January invoice is collected at February 1, 01:00 and fails with no retry left.
        try await engine.advance(to: Self.date("2025-02-06T00:00:00Z"))
        let record = try #require(try engine.subscription(of: "org_d"))
        guard case .grace(let since, let until) = record.subscription.status else {
            Issue.record("expected grace, got \(record.subscription.status.name)")
            return
        }
        #expect(since == Self.date("2025-02-05T00:00:00Z"))
        #expect(until == Self.date("2025-02-07T00:00:00Z"), "two grace days from when it became past due")
        try await engine.advance(to: Self.date("2025-02-08T00:00:00Z"))
        #expect(try engine.subscription(of: "org_d")?.subscription.status.name == "canceled")
    }

    @Test(
        "a card that always declines: past due at the first failure, retries after 3, 5 and 7 days, grace, then canceled"
    )
    func exhaustedThenCanceled() async throws {
        let directory = TemporaryDirectory()
        let engine = try await Self.engine(directory, card: "pm_card_chargeDeclined")
        let before = try #require(try engine.log.head()).sequence
        try await engine.advance(to: Self.date("2025-02-20T00:00:00Z"))
        let events = try Self.events(after: before, in: engine)
        let expected: [(String, String)] = [
            ("invoice.drafted", "2025-02-01T00:00:00Z"), ("subscription.renewed", "2025-02-01T00:00:00Z"),
            ("invoice.issued", "2025-02-01T01:00:00Z"),
            ("payment.failed", "2025-02-01T01:00:00Z"), ("subscription.past_due", "2025-02-01T01:00:00Z"),
            ("payment.failed", "2025-02-04T01:00:00Z"), ("payment.failed", "2025-02-06T01:00:00Z"),
            ("payment.failed", "2025-02-08T01:00:00Z"), ("subscription.grace_period_started", "2025-02-08T01:00:00Z"),
            ("subscription.canceled", "2025-02-11T01:00:00Z"),
        ]
        #expect(events.map(\.type) == expected.map(\.0))
        #expect(events.map(\.at) == expected.map { Self.date($0.1) })
        let invoice = try #require(try engine.live.invoices(of: "org_d").first)
        let status = try #require(try engine.invoiceStatus(invoice.invoiceID))
        #expect(status.state == .open && status.failedAttempts == 4 && status.nextAttemptAt == nil)
        #expect(
            try engine.subscription(of: "org_d")?.subscription.status
                == .canceled(at: Self.date("2025-02-11T01:00:00Z")))
        // The last failure says there is no next attempt.
        let head = try #require(try engine.log.head()).sequence
        let last = try #require(try engine.log.event(at: head - 2))
        let failed = try Tally_V1_PaymentFailed(serializedBytes: last.payload)
        #expect(failed.attempt == 4 && !failed.hasNextAttemptAt && failed.failureCode == "card_declined")
        // Nothing more is due, and a second run appends nothing.
        #expect(try await engine.advance(to: Self.date("2025-02-20T00:00:00Z")).total == 0)
    }

    @Test("a retry that succeeds on the third attempt: paid, and the subscription recovered")
    func thirdAttemptSucceeds() async throws {
        let directory = TemporaryDirectory()
        let engine = try await Self.engine(directory, card: "pm_card_chargeDeclinedInsufficientFunds")
        try await engine.advance(to: Self.date("2025-02-05T00:00:00Z"))  // attempts 1 (Feb 1) and 2 (Feb 4) failed
        let invoice = try #require(try engine.live.invoices(of: "org_d").first).invoiceID
        #expect(try engine.invoiceStatus(invoice)?.failedAttempts == 2)
        #expect(
            try engine.subscription(of: "org_d")?.subscription.status
                == .pastDue(since: Self.date("2025-02-01T01:00:00Z")))
        try await engine.updateOrganization(
            "org_d", OrganizationUpdate(paymentMethod: "pm_card_visa"), at: Self.date("2025-02-05T00:00:00Z"))
        let before = try #require(try engine.log.head()).sequence
        try await engine.advance(to: Self.date("2025-02-10T00:00:00Z"))
        let events = try Self.events(after: before, in: engine)
        #expect(events.map(\.type) == ["payment.succeeded", "subscription.recovered"])
        #expect(events.map(\.at) == [Self.date("2025-02-06T01:00:00Z"), Self.date("2025-02-06T01:00:00Z")])
        let status = try #require(try engine.invoiceStatus(invoice))
        #expect(status.state == .paid && status.failedAttempts == 2 && status.paymentIntentID != nil)
        #expect(try engine.subscription(of: "org_d")?.subscription.status == .active)
        // March's invoice is collected at once, with no dunning.
        try await engine.advance(to: Self.date("2025-03-02T00:00:00Z"))
        let march = try #require(try engine.live.invoices(of: "org_d").last)
        #expect(march.invoiceID == "2025-000002")
        #expect(try engine.invoiceStatus(march.invoiceID)?.state == .paid)
    }

    @Test(
        "marked unpaid instead of canceled, if so configured: no renewals or usage until a payment restores it, then the renewals catch up"
    )
    func markedUnpaid() async throws {
        let directory = TemporaryDirectory()
        let policy = BillingPolicy(
            retrySchedule: RetrySchedule(delaysInDays: [2]), graceDays: 0, whenDunningEnds: .markUnpaid)
        let engine = try await Self.engine(directory, card: "pm_card_chargeDeclinedExpiredCard", policy: policy)
        let before = try #require(try engine.log.head()).sequence
        try await engine.advance(to: Self.date("2025-04-15T00:00:00Z"))
        let events = try Self.events(after: before, in: engine)
        #expect(
            events.map(\.type) == [
                "invoice.drafted", "subscription.renewed", "invoice.issued", "payment.failed", "subscription.past_due",
                "payment.failed", "subscription.marked_unpaid",
            ])
        #expect(events.last?.at == Self.date("2025-02-03T01:00:00Z"))
        #expect(
            try engine.subscription(of: "org_d")?.subscription.status
                == .unpaid(since: Self.date("2025-02-03T01:00:00Z")))
        await #expect(throws: EngineError.self) {
            try await engine.recordUsage(
                UsageRecord(
                    organizationID: "org_d", metric: "api_calls", quantity: 1,
                    occurredAt: Self.date("2025-04-15T00:00:00Z")))
        }
        // A new card, and the customer pays the open invoice: active again; the periods it
        // missed renew and are invoiced (and collected) as advance catches up.
        try await engine.updateOrganization(
            "org_d", OrganizationUpdate(paymentMethod: "pm_card_visa"), at: Self.date("2025-04-15T00:00:00Z"))
        let invoice = try #require(try engine.live.invoices(of: "org_d").first).invoiceID
        let outcome = try await engine.collectPayment(
            for: invoice, through: try #require(engine.gateway), at: Self.date("2025-04-15T00:00:00Z"))
        guard case .paid = outcome else {
            Issue.record("\(outcome)")
            return
        }
        #expect(try engine.subscription(of: "org_d")?.subscription.status == .active)
        try await engine.advance(to: Self.date("2025-04-16T00:00:00Z"))
        let invoices = try engine.live.invoices(of: "org_d")
        #expect(
            invoices.map { $0.periodStart.date }
                == ["2025-01-01", "2025-02-01", "2025-03-01"].map { Self.date("\($0)T00:00:00Z") })
        #expect(try invoices.allSatisfy { try engine.invoiceStatus($0.invoiceID)?.state == .paid })
    }

    /// org_d and twenty more organizations, a third of them with a declining card.
    static func crowd(_ directory: TemporaryDirectory) async throws -> Engine {
        let engine = try await Self.engine(directory, card: "pm_card_chargeDeclined")
        for index in 0..<20 {
            let id = "org_\(index)"
            let card = index % 3 == 0 ? "pm_card_chargeDeclined" : "pm_card_visa"
            try await engine.register(
                OrganizationRegistration(
                    id: id, name: id, billingEmail: "ap@\(id).test", country: "US", currency: .usd, paymentMethod: card),
                at: Self.date("2025-01-01T00:00:00Z"))
            try await engine.subscribe(
                id, to: index % 2 == 0 ? "team" : "basic", interval: .monthly,
                at: Self.date("2025-01-0\(index % 9 + 1)T00:00:00Z"))
        }
        return engine
    }

    @Test(
        "two engines advancing the same log at once record each step once, as one engine alone would, and a rebuild agrees"
    )
    func concurrentAdvance() async throws {
        let reference = TemporaryDirectory()
        let alone = try await Self.crowd(reference)
        try await alone.advance(to: Self.date("2025-04-01T00:00:00Z"))
        let expected = try Self.events(after: 0, in: alone).map { "\($0.type) \($0.at.timeIntervalSince1970)" }

        let directory = TemporaryDirectory()
        let engine = try await Self.crowd(directory)
        // One gateway shared, as two processes share Stripe: idempotency keys make the same
        // attempt answer alike.
        let other = try Engine(directory: directory.path, policy: engine.policy, gateway: engine.gateway)
        async let first = engine.advance(to: Self.date("2025-04-01T00:00:00Z"), eventsPerCommit: 7)
        async let second = other.advance(to: Self.date("2025-04-01T00:00:00Z"), eventsPerCommit: 3)
        _ = try await (first, second)
        let events = try Self.events(after: 0, in: engine).map { "\($0.type) \($0.at.timeIntervalSince1970)" }
        #expect(events == expected)
        // 8 declining organizations: one invoice each, then canceled; 13 paying: February and March.
        #expect(events.filter { $0.hasPrefix("invoice.issued") }.count == 8 + 13 * 2)
        #expect(events.filter { $0.hasPrefix("payment.failed") }.count == 8 * 4)
        let before = try engine.projections.flatDump(InvoicesProjector.name)
        try engine.projections.rebuildAll()
        #expect(try engine.projections.flatDump(InvoicesProjector.name) == before)
    }
}
