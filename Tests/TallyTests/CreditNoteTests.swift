import Billing
import BillingEvents
import EventLog
import Foundation
import Payments
import ReadModels
import Tally
import TallyTestSupport
import Testing

/// Credit notes, full or partial: they reduce what is due, or refund what was paid.
@Suite("Engine: credit notes and refunds")
struct CreditNoteTests {
    static func date(_ text: String) -> Date { try! Date(text, strategy: .iso8601) }
    static func usd(_ text: String) -> Money { try! Money(text, currency: .usd) }

    /// org_de (Germany, 19% VAT) on `team` ($100 net) from January 1 with `card`; its January
    /// invoice of $119.00 finalized at February 1 and, with a good card, paid.
    static func engine(_ directory: TemporaryDirectory, card: String) async throws -> (Engine, InProcessGateway, String)
    {
        let table = try TaxTable(
            sellerCountry: "DE", rates: [TaxRate(jurisdiction: "DE", name: "VAT", percent: try ExactDecimal("19"))])
        let gateway = InProcessGateway()
        let engine = try await InvoiceRunTests.engine(directory, taxTable: table, gateway: gateway)
        let start = date("2025-01-01T00:00:00Z")
        try await engine.register(
            OrganizationRegistration(
                id: "org_de", name: "DE", billingEmail: "ap@de.test", country: "DE", currency: .usd, paymentMethod: card
            ), at: start)
        try await engine.subscribe("org_de", to: "team", interval: .monthly, at: start)
        try await engine.advance(to: date("2025-02-01T00:00:00Z"))
        return (engine, gateway, try #require(try engine.live.invoices(of: "org_de").first).invoiceID)
    }

    @Test(
        "a credit note after payment: part refunded through the gateway with its share of the tax, then the rest; the notes add up to the invoice"
    )
    func afterPayment() async throws {
        let directory = TemporaryDirectory()
        let (engine, gateway, invoice) = try await Self.engine(directory, card: "pm_card_visa")
        let status = try #require(try engine.invoiceStatus(invoice))
        #expect(status.state == .paid && status.amountPaid == 11_900)

        // $50.00 back for an outage: tax 50 × 19 / 119 = 7.983… → $7.98.
        let first = try await engine.issueCreditNote(
            for: invoice, amount: Self.usd("50.00"), reason: "outage on January 20",
            at: Self.date("2025-02-10T12:00:00Z"))
        #expect(first.creditNoteID == "CN-2025-000001" && first.appliedTo == "refund")
        #expect(
            try first.amount.decoded(field: "amount") == Self.usd("50.00")
                && first.tax.decoded(field: "tax") == Self.usd("7.98"))
        let head = try #require(try engine.log.head()).sequence
        let refunded = try #require(try engine.log.event(at: head))
        #expect(refunded.eventType == BillingEventType.paymentRefunded.rawValue)
        let refund = try Tally_V1_PaymentRefunded(serializedBytes: refunded.payload)
        #expect(refund.creditNoteID == first.creditNoteID && refund.amount.minorUnits == 5_000)
        #expect(await gateway.intent(refund.paymentIntentID)?.refunded == Self.usd("50.00"))

        // The rest: $69.00, with the rest of the tax, $11.02.
        let rest = try await engine.issueCreditNote(
            for: invoice, reason: "account closed", at: Self.date("2025-02-11T00:00:00Z"))
        #expect(rest.creditNoteID == "CN-2025-000002")
        #expect(
            try rest.amount.decoded(field: "amount") == Self.usd("69.00")
                && rest.tax.decoded(field: "tax") == Self.usd("11.02"))
        let after = try #require(try engine.invoiceStatus(invoice))
        #expect(
            after.credited == 11_900 && after.creditedTax == 1_900 && after.refunded == 11_900 && after.state == .paid)
        #expect(try engine.live.creditNotes(of: invoice).map(\.creditNoteID) == ["CN-2025-000001", "CN-2025-000002"])

        // Revenue: January's $100 net was recognized in January; the credits' net ($42.02 and
        // $57.98) come off on the days of the notes, none of January restated.
        let view = engine.live
        #expect(
            try view.recognizedRevenue(from: Self.date("2025-01-01T00:00:00Z"), to: Self.date("2025-01-31T00:00:00Z"))
                == ["USD": 10_000])
        #expect(
            try view.recognizedRevenue(from: Self.date("2025-02-10T00:00:00Z"), to: Self.date("2025-02-10T00:00:00Z"))
                == ["USD": -4_202])
        #expect(
            try view.recognizedRevenue(from: Self.date("2025-02-11T00:00:00Z"), to: Self.date("2025-02-11T00:00:00Z"))
                == ["USD": -5_798])

        // Nothing is left to credit; the refusal names the field and changes nothing.
        let before = try engine.log.head()
        await #expect(throws: EngineError.invalid(field: "amount", rule: "nothing is left to credit on this invoice")) {
            try await engine.issueCreditNote(for: invoice, reason: "again", at: Self.date("2025-02-12T00:00:00Z"))
        }
        #expect(try engine.log.head() == before)
        for name in [InvoicesProjector.name, RevenueProjector.name] {
            let incremental = try engine.projections.flatDump(name)
            try engine.projections.rebuild(name)
            #expect(try engine.projections.flatDump(name) == incremental, "\(name)")
        }
    }

    @Test(
        "a credit note on an open invoice reduces the amount due; the payment then collects only the rest; a full credit settles it"
    )
    func openInvoice() async throws {
        let directory = TemporaryDirectory()
        let (engine, gateway, invoice) = try await Self.engine(directory, card: "pm_card_chargeDeclined")
        #expect(try engine.invoiceStatus(invoice)?.state == .open)
        let note = try await engine.issueCreditNote(
            for: invoice, amount: Self.usd("19.00"), reason: "goodwill", at: Self.date("2025-02-02T00:00:00Z"))
        #expect(note.appliedTo == "amount_due")
        #expect(try engine.invoiceStatus(invoice)?.amountDue == 10_000)
        try await engine.updateOrganization(
            "org_de", OrganizationUpdate(paymentMethod: "pm_card_visa"), at: Self.date("2025-02-03T00:00:00Z"))
        guard
            case .paid(let intentID) = try await engine.collectPayment(
                for: invoice, through: gateway, at: Self.date("2025-02-03T00:00:00Z"))
        else {
            Issue.record("not paid")
            return
        }
        #expect(await gateway.intent(intentID)?.amount == Self.usd("100.00"))

        // Another organization's open invoice credited in full is settled.
        let (other, _, second) = try await Self.engine(TemporaryDirectory(), card: "pm_card_chargeDeclined")
        try await other.issueCreditNote(for: second, reason: "billed in error", at: Self.date("2025-02-02T00:00:00Z"))
        let settled = try #require(try other.invoiceStatus(second))
        #expect(settled.state == .paid && settled.amountDue == 0 && settled.credited == 11_900 && settled.refunded == 0)
    }

    @Test(
        "refused, naming the field, with nothing appended: a void invoice, too much, no reason, a paid invoice with no gateway"
    )
    func refusals() async throws {
        let directory = TemporaryDirectory()
        let (engine, _, invoice) = try await Self.engine(directory, card: "pm_card_chargeDeclined")
        let head = try engine.log.head()
        await #expect(throws: EngineError.invalid(field: "reason", rule: "must be 1 to 500 characters, got 0")) {
            try await engine.issueCreditNote(for: invoice, reason: "", at: Self.date("2025-02-02T00:00:00Z"))
        }
        await #expect(throws: EngineError.self) {
            try await engine.issueCreditNote(
                for: invoice, amount: Self.usd("119.01"), reason: "too much", at: Self.date("2025-02-02T00:00:00Z"))
        }
        await #expect(throws: EngineError.self) {
            try await engine.issueCreditNote(
                for: invoice, amount: try Money("1", currency: .eur), reason: "wrong currency",
                at: Self.date("2025-02-02T00:00:00Z"))
        }
        await #expect(throws: EngineError.notFound("invoice 2025-000999")) {
            try await engine.issueCreditNote(for: "2025-000999", reason: "nope", at: Self.date("2025-02-02T00:00:00Z"))
        }
        #expect(try engine.log.head() == head)
        try await engine.voidInvoice(invoice, reason: "duplicate", at: Self.date("2025-02-02T00:00:00Z"))
        await #expect(throws: EngineError.self) {
            try await engine.issueCreditNote(for: invoice, reason: "void", at: Self.date("2025-02-03T00:00:00Z"))
        }

        // Paid, but the engine has no gateway to refund through.
        let plain = TemporaryDirectory()
        let (paidEngine, gateway, paid) = try await Self.engine(plain, card: "pm_card_visa")
        let reopened = try Engine(directory: plain.path, policy: paidEngine.policy)
        await #expect(throws: EngineError.self) {
            try await reopened.issueCreditNote(for: paid, reason: "refund", at: Self.date("2025-02-03T00:00:00Z"))
        }
        // Given one, it refunds.
        let note = try await reopened.issueCreditNote(
            for: paid, reason: "refund", at: Self.date("2025-02-03T00:00:00Z"), refundingThrough: gateway)
        #expect(note.appliedTo == "refund")
    }
}
