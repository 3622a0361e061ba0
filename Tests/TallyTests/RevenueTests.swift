import Billing
import Foundation
import ReadModels
import Tally
import TallyTestSupport
import Testing

@Suite("Engine: revenue recognized ratably by day")
struct RevenueTests {
    static func date(_ text: String) -> Date { try! Date(text, strategy: .iso8601) }

    @Test(
        "an invoice's lines are recognized over its period by the second, exactly, and the days add up to the invoice")
    func ratable() async throws {
        let directory = TemporaryDirectory()
        let engine = try await InvoiceRunTests.engine(directory)
        let start = Self.date("2025-01-01T00:00:00Z")
        try await InvoiceRunTests.register(engine, "org_r", at: start)
        try await engine.subscribe("org_r", to: "team", interval: .monthly, at: start)
        try await engine.advance(to: Self.date("2025-03-01T00:00:00Z"))  // January and February invoiced, $100 each
        let view = engine.live
        // January 1-15: 15 of 31 days of 10,000 cents = 4,838.7 → 4,838 (rounded down by the moment; the rest follows).
        #expect(try view.recognizedRevenue(from: start, to: Self.date("2025-01-15T00:00:00Z")) == ["USD": 4_838])
        #expect(try view.recognizedRevenue(from: start, to: Self.date("2025-01-31T00:00:00Z")) == ["USD": 10_000])
        #expect(try view.recognizedRevenue(from: start, to: Self.date("2025-02-28T00:00:00Z")) == ["USD": 20_000])
        #expect(
            try view.recognizedRevenue(from: Self.date("2025-02-10T00:00:00Z"), to: Self.date("2025-02-10T00:00:00Z"))
                == ["USD": 357])  // 10,000 / 28 = 357.1
        // Billed in arrears: nothing is ever invoiced ahead of its service, so nothing is deferred.
        let asOfMid = try engine.view(asOf: .occurredAt(Self.date("2025-02-15T00:00:00Z")))
        #expect(try asOfMid.deferredRevenue(at: Self.date("2025-02-15T00:00:00Z")).values.allSatisfy { $0 == 0 })
        #expect(
            try asOfMid.recognizedRevenue(from: start, to: Self.date("2025-02-15T00:00:00Z")) == ["USD": 10_000],
            "February's invoice was not issued yet")
        let before = try engine.projections.flatDump(RevenueProjector.name)
        try engine.projections.rebuild(RevenueProjector.name)
        #expect(try engine.projections.flatDump(RevenueProjector.name) == before)
    }
}
