import Billing
import BillingEvents
import EventLog
import Foundation
import ReadModels
import Tally
import TallyTestSupport
import Testing

/// Invoices wait as drafts for late usage; usage later than that is billed on the next invoice.
@Suite("Engine: drafts, late usage and adjustments")
struct LateUsageTests {
    static func date(_ text: String) -> Date { try! Date(text, strategy: .iso8601) }
    static func usd(_ text: String) -> Money { try! Money(text, currency: .usd) }

    /// org_l on the no-trial Professional copy ($49; 1,000,000 API calls included, then $0.50
    /// per started 1,000) from January 1; invoices wait one day for late usage.
    static func engine(_ directory: TemporaryDirectory) async throws -> Engine {
        let engine = try await InvoiceRunTests.engine(directory, policy: BillingPolicy(lateUsageGraceSeconds: 86_400))
        try await InvoiceRunTests.register(engine, "org_l", at: date("2025-01-01T00:00:00Z"))
        try await engine.subscribe("org_l", to: "pro", interval: .monthly, at: date("2025-01-01T00:00:00Z"))
        return engine
    }

    /// Usage that occurred at `usedAt`, arriving now (between the advances around the call).
    static func calls(_ engine: Engine, _ quantity: Int64, usedAt: String) async throws {
        try await engine.recordUsage(
            UsageRecord(organizationID: "org_l", metric: "api_calls", quantity: quantity, occurredAt: date(usedAt)))
    }

    static func amounts(_ invoice: Tally_V1_InvoiceIssued) throws -> [Money] {
        try invoice.lines.map { try $0.amount.decoded(field: "amount") }
    }

    @Test("a closed period's invoice is a draft during the grace; usage arriving then lands on it when it is finalized")
    func lateWithinGrace() async throws {
        let directory = TemporaryDirectory()
        let engine = try await Self.engine(directory)
        try await Self.calls(engine, 1_000_000, usedAt: "2025-01-20T00:00:00Z")
        try await engine.advance(to: Self.date("2025-02-01T12:00:00Z"))
        #expect(try engine.live.invoices(of: "org_l").isEmpty)
        let draft = try #require(try engine.live.drafts(of: "org_l").first)
        #expect(draft.finalizeAt.date == Self.date("2025-02-02T00:00:00Z"))
        #expect(try Self.amounts(draft.preview) == [Self.usd("49.00")], "all within the included million when drafted")

        // Used on January 31, arriving on February 1 at noon: within the day's grace.
        try await Self.calls(engine, 234_567, usedAt: "2025-01-31T23:00:00Z")
        try await engine.advance(to: Self.date("2025-02-02T00:00:00Z"))
        #expect(try engine.live.drafts(of: "org_l").isEmpty)
        let invoice = try #require(try engine.live.invoices(of: "org_l").first)
        #expect(invoice.draftID == draft.draftID && invoice.invoiceID == "2025-000001")
        // 234,567 calls above the million: 235 started blocks × $0.50 = $117.50.
        #expect(try Self.amounts(invoice) == [Self.usd("49.00"), Self.usd("117.50")])
        #expect(try invoice.total.decoded(field: "total") == Self.usd("166.50"))
        #expect(
            try engine.log.event(at: try #require(try engine.log.head()).sequence)?.occurredAt
                == Self.date("2025-02-02T00:00:00Z"))
    }

    @Test(
        "usage later than the grace goes on the next invoice as a late-usage line for its own period, once; a correction is credited the same way"
    )
    func lateAfterGrace() async throws {
        let directory = TemporaryDirectory()
        let engine = try await Self.engine(directory)
        try await Self.calls(engine, 1_234_567, usedAt: "2025-01-20T00:00:00Z")
        try await engine.advance(to: Self.date("2025-02-03T00:00:00Z"))
        #expect(
            try Self.amounts(try #require(try engine.live.invoices(of: "org_l").first)) == [
                Self.usd("49.00"), Self.usd("117.50"),
            ])

        // 10,000 more January calls arrive on February 5: January's invoice is final.
        try await Self.calls(engine, 10_000, usedAt: "2025-01-31T00:00:00Z")
        #expect(
            try engine.live.quota(for: "org_l", metric: "api_calls", at: Self.date("2025-01-31T00:00:00Z")).usage
                == 1_244_567)
        try await engine.advance(to: Self.date("2025-03-03T00:00:00Z"))
        let february = try #require(try engine.live.invoices(of: "org_l").last)
        #expect(february.invoiceID == "2025-000002")
        // 245 blocks now against 235 billed: 10 × $0.50 = $5.00, for January's period.
        #expect(try Self.amounts(february) == [Self.usd("49.00"), Self.usd("5.00")])
        let late = february.lines[1]
        #expect(
            late.kind == "late_usage" && late.metric == "api_calls" && late.quantity == 10_000
                && late.usedQuantity == 1_244_567)
        #expect(
            late.serviceStart.date == Self.date("2025-01-01T00:00:00Z")
                && late.serviceEnd.date == Self.date("2025-02-01T00:00:00Z"))
        // Recognized in January, where the usage belongs: 49 + 117.50 + 5.00.
        #expect(
            try engine.live.recognizedRevenue(
                from: Self.date("2025-01-01T00:00:00Z"), to: Self.date("2025-01-31T00:00:00Z")) == ["USD": 17_150])

        // Billed once: March's invoice has no late line. Then a correction takes 20,000 of
        // January's calls back: 225 blocks against 245 billed, a $10.00 credit in April.
        try await engine.advance(to: Self.date("2025-04-03T00:00:00Z"))
        #expect(try Self.amounts(try #require(try engine.live.invoices(of: "org_l").last)) == [Self.usd("49.00")])
        let january = try #require(try Self.firstUsageSequence(in: engine))
        try await engine.correctUsage(
            "org_l", originalSequence: january, delta: -20_000, reason: "double-counted retries",
            at: Self.date("2025-04-10T00:00:00Z"))
        try await engine.advance(to: Self.date("2025-05-03T00:00:00Z"))
        let april = try #require(try engine.live.invoices(of: "org_l").last)
        #expect(try Self.amounts(april) == [Self.usd("49.00"), Self.usd("-10.00")])
        #expect(try april.total.decoded(field: "total") == Self.usd("39.00"))

        // The incremental invoices equal a rebuild, and as-of the end of February.
        let before = try engine.projections.flatDump(InvoicesProjector.name)
        let asOf = try engine.view(asOf: .occurredAt(Self.date("2025-03-03T00:00:00Z"))).invoices(of: "org_l")
        try engine.projections.rebuildAll()
        #expect(try engine.projections.flatDump(InvoicesProjector.name) == before)
        #expect(asOf.map(\.invoiceID) == ["2025-000001", "2025-000002"])
        #expect(asOf.last == february)
    }

    static func firstUsageSequence(in engine: Engine) throws -> UInt64? {
        let head = try #require(try engine.log.head()).sequence
        for sequence in 1...head
        where try engine.log.event(at: sequence)?.eventType == BillingEventType.usageRecorded.rawValue {
            return sequence
        }
        return nil
    }
}
