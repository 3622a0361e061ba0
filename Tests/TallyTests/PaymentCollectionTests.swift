import Billing
import BillingEvents
import EventLog
import Foundation
import Payments
import ReadModels
import Tally
import TallyTestSupport
import Testing

/// Collecting invoices through a gateway, and what a payment does to the subscription.
@Suite("Engine: collecting invoices")
struct PaymentCollectionTests {
    static func date(_ text: String) -> Date { try! Date(text, strategy: .iso8601) }

    /// org_c on `team` ($100) from January 1 with `card`, its January invoice issued.
    static func engine(_ directory: TemporaryDirectory, card: String) async throws -> (Engine, String) {
        let engine = try await InvoiceRunTests.engine(directory)
        let start = date("2025-01-01T00:00:00Z")
        try await engine.register(
            OrganizationRegistration(
                id: "org_c", name: "C", billingEmail: "ap@c.test", country: "US", currency: .usd, paymentMethod: card),
            at: start)
        try await engine.subscribe("org_c", to: "team", interval: .monthly, at: start)
        try await engine.advance(to: date("2025-02-01T00:00:00Z"))
        let invoice = try #require(try engine.live.invoices(of: "org_c").first)
        return (engine, invoice.invoiceID)
    }

    @Test("a good card pays the invoice; it cannot be collected, voided or written off again")
    func paid() async throws {
        let directory = TemporaryDirectory()
        let (engine, invoice) = try await Self.engine(directory, card: "pm_card_visa")
        let gateway = InProcessGateway()
        let outcome = try await engine.collectPayment(
            for: invoice, through: gateway, at: Self.date("2025-02-01T01:00:00Z"))
        guard case .paid = outcome else {
            Issue.record("\(outcome)")
            return
        }
        #expect(try engine.invoiceStatus(invoice)?.state == .paid)
        await #expect(throws: EngineError.self) {
            try await engine.collectPayment(for: invoice, through: gateway, at: Self.date("2025-02-02T00:00:00Z"))
        }
        await #expect(throws: EngineError.self) {
            try await engine.voidInvoice(invoice, reason: "x", at: Self.date("2025-02-02T00:00:00Z"))
        }
    }

    @Test(
        "a decline: past due at the first failure with the code recorded and a retry in 3 days; a new card pays and restores the subscription"
    )
    func declineThenRecover() async throws {
        let directory = TemporaryDirectory()
        let (engine, invoice) = try await Self.engine(directory, card: "pm_card_chargeDeclinedInsufficientFunds")
        let gateway = InProcessGateway()
        let failedAt = Self.date("2025-02-01T01:00:00Z")
        let outcome = try await engine.collectPayment(for: invoice, through: gateway, at: failedAt)
        guard case .failed(let failure, let attempt, let next) = outcome else {
            Issue.record("\(outcome)")
            return
        }
        #expect(failure.code == .insufficientFunds && attempt == 1 && next == failedAt.addingTimeInterval(3 * 86_400))
        #expect(try engine.subscription(of: "org_c")?.subscription.status == .pastDue(since: failedAt))
        #expect(try engine.invoiceStatus(invoice)?.failedAttempts == 1)
        // One commit: the attempt, then the subscription's step.
        let head = try #require(try engine.log.head())
        let failed = try #require(try engine.log.event(at: head.sequence - 1))
        let recorded = try Tally_V1_PaymentFailed(serializedBytes: failed.payload)
        #expect(recorded.failureCode == "insufficient_funds" && recorded.attempt == 1)
        let pastDue = try #require(try engine.log.event(at: head.sequence))
        #expect(pastDue.eventType == BillingEventType.subscriptionPastDue.rawValue)
        #expect(try Tally_V1_SubscriptionPastDue(serializedBytes: pastDue.payload).invoiceID == invoice)

        try await engine.updateOrganization(
            "org_c", OrganizationUpdate(paymentMethod: "pm_card_visa"), at: Self.date("2025-02-03T00:00:00Z"))
        let retried = try await engine.collectPayment(
            for: invoice, through: gateway, at: Self.date("2025-02-04T01:00:00Z"))
        guard case .paid = retried else {
            Issue.record("\(retried)")
            return
        }
        #expect(try engine.subscription(of: "org_c")?.subscription.status == .active)
        #expect(try engine.invoiceStatus(invoice)?.state == .paid)
    }

    @Test("a gateway timeout records nothing; the retry reuses the attempt's keys")
    func timeout() async throws {
        let directory = TemporaryDirectory()
        let (engine, invoice) = try await Self.engine(directory, card: "pm_card_timeout")
        let head = try engine.log.head()
        await #expect(throws: PaymentFailure.self) {
            try await engine.collectPayment(
                for: invoice, through: InProcessGateway(), at: Self.date("2025-02-01T01:00:00Z"))
        }
        #expect(try engine.log.head() == head)
        #expect(try engine.invoiceStatus(invoice)?.state == .open)
    }

    @Test("void and write-off apply to open invoices only, and survive a rebuild")
    func voidAndUncollectible() async throws {
        let directory = TemporaryDirectory()
        let (engine, invoice) = try await Self.engine(directory, card: "pm_card_chargeDeclined")
        try await engine.markInvoiceUncollectible(invoice, at: Self.date("2025-03-01T00:00:00Z"))
        #expect(try engine.invoiceStatus(invoice)?.state == .uncollectible)
        await #expect(throws: EngineError.self) {
            try await engine.voidInvoice(invoice, reason: "duplicate", at: Self.date("2025-03-02T00:00:00Z"))
        }
        let before = try engine.projections.flatDump(InvoicesProjector.name)
        try engine.projections.rebuild(InvoicesProjector.name)
        #expect(try engine.projections.flatDump(InvoicesProjector.name) == before)
        await #expect(throws: EngineError.notFound("invoice 2099-000001")) {
            try await engine.voidInvoice("2099-000001", reason: "x", at: Self.date("2025-03-02T00:00:00Z"))
        }
    }
}
