import Billing
import BillingEvents
import EventLog
import Foundation
import LMDB
import Projections
import ReadModels
import SwiftProtobuf
import TallyTestSupport
import Testing

/// The `mrr` read model keeps each subscription apart, so an organization with two of them
/// contracts, rather than churns, when one ends (ChartMogul's rule). The engine itself keeps
/// one live subscription per organization (issue 3), so these events are appended to a log
/// directly, with the `mrr` projection alone attached.
@Suite("MRR: an organization with two subscriptions")
struct MRRTwoSubscriptionsTests {
    static func at(_ text: String) -> Google_Protobuf_Timestamp {
        Google_Protobuf_Timestamp(date: try! Date(text + "T00:00:00Z", strategy: .iso8601))
    }

    static func activated(_ id: String, _ dollars: Int64, on day: String) throws -> EventDraft {
        let payload = Tally_V1_SubscriptionActivated.with {
            $0.subscriptionID = id
            $0.planID = "plan_\(id)"
            $0.interval = Tally_V1_Interval(.monthly)
            $0.periodStart = at(day)
            $0.periodEnd = at("2030-01-01")
            $0.recurringPrice = Tally_V1_Money(Money(minorUnits: dollars * 100, currency: .usd))
        }
        return EventDraft(
            organizationID: "org_two", eventType: BillingEventType.subscriptionActivated.rawValue,
            occurredAt: Date(timeIntervalSince1970: TimeInterval(at(day).seconds)),
            payload: try payload.serializedData())
    }

    @Test("canceling one of two subscriptions is contraction; canceling the last is churn")
    func twoSubscriptions() throws {
        let directory = TemporaryDirectory()
        let environment = try Environment.open(at: directory.path)
        let projections = try ProjectionSet(environment: environment, projectors: [MRRProjector()])
        var options = EventLogOptions(registry: BillingEventType.registry)
        options.observer = projections
        let log = try EventLog(directory: directory.path, options: options)

        func canceled(_ id: String, on day: String) throws -> EventDraft {
            let payload = Tally_V1_SubscriptionCanceled.with {
                $0.subscriptionID = id
                $0.effectiveAt = Self.at(day)
                $0.reason = .requested
            }
            return EventDraft(
                organizationID: "org_two", eventType: BillingEventType.subscriptionCanceled.rawValue,
                occurredAt: Date(timeIntervalSince1970: TimeInterval(Self.at(day).seconds)),
                payload: try payload.serializedData())
        }
        _ = try log.appendSynchronously(try Self.activated("sub_1", 100, on: "2025-01-01"))
        _ = try log.appendSynchronously(try Self.activated("sub_2", 40, on: "2025-01-05"))
        _ = try log.appendSynchronously(try canceled("sub_2", on: "2025-02-10"))
        _ = try log.appendSynchronously(try canceled("sub_1", on: "2025-03-10"))

        let history = try #require(
            try projections.read(MRRProjector.name) { try MRRProjector.history(of: "org_two", in: $0) })
        #expect(history.movements.map(\.movement.kind) == [.newBusiness, .expansion, .contraction, .churn])
        #expect(history.movements.map(\.movement.amount) == [10_000, 4_000, -4_000, -10_000])
        let daily = try projections.read(MRRProjector.name) { try MRRProjector.daily(in: $0) }
        let ledger = RevenueLedger(currency: .usd, daily: try #require(daily["USD"]), histories: [history])
        let february = ledger.metrics(for: CalendarMonth(year: 2025, month: 2))
        #expect(february.interval.movements.count(.churn) == 0)
        #expect(february.interval.endingCustomers == 1)
        #expect(ledger.metrics(for: CalendarMonth(year: 2025, month: 3)).interval.movements.count(.churn) == 1)
    }
}
