import Foundation
import LMDB
import Payments
import ReadModels
import Tally
import TallyTestSupport
import Testing

/// `advance` must never spin: if the read models ever disagreed with themselves (here, a
/// collection entry for an invoice that is already paid, written behind the engine's back),
/// it stops with an error naming what it was stuck on instead of looping forever.
@Suite("Engine: advance never spins")
struct AdvanceStallTests {
    @Test("a collection entry for a paid invoice stops advance with a conflict that names it")
    func staleCollectionEntry() async throws {
        let directory = TemporaryDirectory()
        let engine = try await InvoiceRunTests.engine(directory, gateway: InProcessGateway())
        let start = InvoiceRunTests.date("2025-01-01T00:00:00Z")
        try await engine.register(
            OrganizationRegistration(
                id: "org_s", name: "S", billingEmail: "ap@s.test", country: "US", currency: .usd,
                paymentMethod: "pm_card_visa"),
            at: start)
        try await engine.subscribe("org_s", to: "team", interval: .monthly, at: start)
        try await engine.advance(to: InvoiceRunTests.date("2025-02-02T00:00:00Z"))
        let invoice = try #require(try engine.live.invoices(of: "org_s").first)
        #expect(try engine.invoiceStatus(invoice.invoiceID)?.state == .paid)

        // Behind the engine's back: the paid invoice listed again as due on Feb 3.
        let due = Int64(InvoiceRunTests.date("2025-02-03T00:00:00Z").timeIntervalSince1970) * 1_000_000_000
        try engine.log.environment.write { txn in
            // the live slot's
            let collection = try engine.projections.reader(InvoicesProjector.name, in: txn).database("collection")
            let key =
                withUnsafeBytes(of: (UInt64(bitPattern: due) ^ (1 << 63)).bigEndian) { Array($0) }
                + Array(invoice.invoiceID.utf8)
            try txn.put([UInt8](), forKey: key, in: collection)
        }
        await #expect {
            try await engine.advance(to: InvoiceRunTests.date("2025-02-10T00:00:00Z"))
        } throws: { error in
            guard case EngineError.conflict(let detail) = error else { return false }
            return detail.contains("no progress") && detail.contains(invoice.invoiceID)
        }
    }
}
