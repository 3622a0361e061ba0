import Billing
import BillingEvents
import EventLog
import Foundation
import LMDB
import Payments
import ReadModels
import Tally
import TallySupport
import TallyTestSupport
import Testing

@testable import Projections

/// Issue 3's central property, at the engine's level: after a random stream of commands over
/// many organizations and simulated months (some refused, some retried, time advanced now and
/// then), every read model kept incrementally is byte-identical to a full rebuild from the log
/// and to a snapshot folded as of the head; and a snapshot as of an earlier sequence equals
/// the read models of a log truncated there.
///
/// TALLY_TEST_SEED and TALLY_TEST_ITERATIONS (commands; 6 simulated hours apart) vary it.
@Suite("Engine: read models equal a rebuild on random command streams")
struct EnginePropertyTests {
    @Test(.timeLimit(.minutes(10))) func randomCommandStreams() async throws {
        let seed = TestEnvironment.seed()
        print("EnginePropertyTests: TALLY_TEST_SEED=\(seed)")  // before anything can hang
        var random = SeededGenerator(seed: seed)
        let directory = TemporaryDirectory()
        // Invoices wait six hours for late usage; a gateway collects them and dunning runs,
        // ending in cancellation or unpaid as the seed decides.
        let policy = BillingPolicy(
            lateUsageGraceSeconds: 6 * 3_600, retrySchedule: RetrySchedule(delaysInDays: [1, 3]), graceDays: 2,
            whenDunningEnds: seed % 2 == 0 ? .cancel : .markUnpaid)
        let engine = try Engine(directory: directory.path, policy: policy, gateway: InProcessGateway())
        let cards = ["pm_card_visa", "", "pm_card_chargeDeclined", "pm_card_visa"]
        let start = Date(timeIntervalSince1970: 1_577_836_800)  // 2020-01-01: room for years of simulated time
        try await engine.initializeDefaultPlans(at: start)
        // One paying customer from the start, so that every seed reaches invoice collection
        // (seed 10 once drew a stream in which no invoice was ever collected); the random
        // commands may still change its card, plan or subscription like anyone else's.
        try await engine.register(
            OrganizationRegistration(
                id: "org_0", name: "Org org_0", billingEmail: "ap@org_0.test", country: "US", currency: .usd,
                paymentMethod: "pm_card_visa"), at: start)
        try await engine.subscribe("org_0", to: "professional", interval: .monthly, at: start)
        let plans = ["free", "professional", "enterprise"]
        let metrics = [
            "api_calls", "active_users", "storage_bytes", "realtime_connections", "data_exports", "dashboards",
        ]
        var refused = 0
        var recorded: [String: [UInt64]] = [:]  // usage events per organization, for corrections

        let commands = TestEnvironment.iterations(default: 1_500)
        for step in 0..<commands {
            let organization = "org_\(Int.random(in: 0..<12, using: &random))"
            let date = start.addingTimeInterval(Double(step) * 6 * 3_600)
            do {
                switch Int.random(in: 0..<24, using: &random) {
                case 0:
                    try await engine.register(
                        OrganizationRegistration(
                            id: organization, name: "Org \(organization)", billingEmail: "ap@\(organization).test",
                            country: "US", currency: .usd,
                            paymentMethod: cards.randomElement(using: &random)!), at: date)
                case 1:
                    try await engine.subscribe(
                        organization, to: plans.randomElement(using: &random)!,
                        interval: Bool.random(using: &random) ? .monthly : .annual,
                        at: date, idempotencyKey: "sub-\(organization)-\(step / 100)")
                case 2:
                    try await engine.changePlan(
                        organization, to: plans.randomElement(using: &random)!,
                        interval: Bool.random(using: &random) ? .monthly : .annual,
                        at: date, immediately: Bool.random(using: &random))
                case 3:
                    try await engine.cancelSubscription(
                        organization, at: date, immediately: Bool.random(using: &random))
                case 4:
                    try await engine.reactivateSubscription(organization, at: date)
                case 5, 6:
                    do {
                        try await engine.advance(to: date, eventsPerCommit: Int.random(in: 1...50, using: &random))
                    } catch { Issue.record("advance: \(error) (seed \(seed))") }
                case 7:
                    try await engine.updateOrganization(
                        organization, OrganizationUpdate(paymentMethod: cards.randomElement(using: &random)!), at: date)
                case 8:
                    try await engine.configureQuota(
                        organization, metric: metrics.randomElement(using: &random)!,
                        softLimit: Int64.random(in: 0...5_000, using: &random),
                        hardLimit: Bool.random(using: &random) ? nil : Int64.random(in: 5_000...20_000, using: &random),
                        at: date)
                case 9:
                    try await engine.removeQuota(organization, metric: metrics.randomElement(using: &random)!, at: date)
                case 10:
                    try await engine.correctUsage(
                        organization, originalSequence: recorded[organization]?.randomElement(using: &random) ?? 1,
                        delta: Int64.random(in: -40...500, using: &random) | 1, reason: "test", at: date)
                case 11:
                    if Bool.random(using: &random) {
                        try await engine.markPastDue(organization, at: date)
                    } else {
                        try await engine.startGracePeriod(
                            organization,
                            until: date.addingTimeInterval(Double(Int.random(in: 1...10, using: &random)) * 86_400),
                            at: date)
                    }
                case 12:
                    try await engine.agreeCustomPricing(
                        CustomPricing(
                            organizationID: organization, basePlanID: "enterprise", currency: .usd,
                            interval: .quarterly,
                            recurringPrice: Money(
                                minorUnits: Int64.random(in: 100_000...500_000, using: &random), currency: .usd),
                            contractStart: date, contractEnd: date.addingTimeInterval(200 * 86_400)), at: date)
                case 13, 14:
                    // A batch across organizations: limits, retries and unique counts inside one
                    // commit. Past 32 appended events its usage folds on the helper thread
                    // (`AppendLane`; most records here are refused, so that is rare, and
                    // `UsageBatchStreamingTests` checks it); from 64 records on, it is decided on
                    // the helper while the writer appends.
                    let sizes = [1...32, 33...63, 64...120]
                    let batch = (0..<Int.random(in: sizes.randomElement(using: &random)!, using: &random)).map { _ in
                        let key = Bool.random(using: &random) ? "u-\(Int.random(in: 0..<200, using: &random))" : nil
                        return UsageRecord(
                            organizationID: "org_\(Int.random(in: 0..<12, using: &random))",
                            metric: metrics.randomElement(using: &random)!,
                            quantity: key == nil ? Int64.random(in: 0...3_000, using: &random) : 50,
                            userID: "usr_\(Int.random(in: 0..<6, using: &random))",
                            resourceID: "res_\(Int.random(in: 0..<4, using: &random))",
                            occurredAt: date.addingTimeInterval(-Double(Int.random(in: 0..<86_400, using: &random))),
                            idempotencyKey: key)
                    }
                    for result in try await engine.recordUsage(batch) {
                        if case .failure = result { refused += 1 }
                    }
                case 15, 16:
                    // A credit note, full or partial, on one of the organization's invoices (refunded if paid).
                    guard let invoice = try engine.live.invoices(of: organization).randomElement(using: &random) else {
                        continue
                    }
                    let amount =
                        Bool.random(using: &random)
                        ? nil : Money(minorUnits: Int64.random(in: 1...5_000, using: &random), currency: .usd)
                    try await engine.issueCreditNote(for: invoice.invoiceID, amount: amount, reason: "test", at: date)
                case 17:
                    // A recurring discount: percent or amount off, for a few periods or for good;
                    // now and then all of the fee, mostly part of it, so invoices still collect.
                    let value: RecurringDiscount.Value =
                        Bool.random(using: &random)
                        ? .percentOff(
                            ExactDecimal(
                                Int64.random(in: 1...100, using: &random) > 90
                                    ? 100 : Int64.random(in: 1...50, using: &random)))
                        : .amountOff(Money(minorUnits: Int64.random(in: 1...3_000, using: &random), currency: .usd))
                    try await engine.applyDiscount(
                        organization,
                        RecurringDiscount(
                            id: "d-\(step)", value: value,
                            periods: Bool.random(using: &random) ? nil : Int.random(in: 1...3, using: &random)),
                        at: date)
                default:
                    let key = Bool.random(using: &random) ? "u-\(Int.random(in: 0..<200, using: &random))" : nil
                    let metric = metrics.randomElement(using: &random)!
                    let receipt = try await engine.recordUsage(
                        UsageRecord(
                            organizationID: organization, metric: metric,
                            quantity: key == nil ? Int64.random(in: 0...3_000, using: &random) : 50,
                            userID: "usr_\(Int.random(in: 0..<6, using: &random))",
                            resourceID: "res_\(Int.random(in: 0..<4, using: &random))",
                            occurredAt: date.addingTimeInterval(-Double(Int.random(in: 0..<86_400, using: &random))),
                            idempotencyKey: key))
                    if metric == "api_calls" { recorded[organization, default: []].append(receipt.sequence) }
                }
            } catch is EngineError {
                refused += 1  // refusals are part of the stream: they must leave nothing behind
            } catch EventLogError.idempotencyConflict {
                refused += 1
            } catch is PaymentGatewayError {
                refused += 1  // a refund the gateway refused: nothing recorded
            }
        }
        #expect(refused > 0, "the stream should exercise refusals too (seed \(seed))")
        if HelperThreads.haveSecondCore, commands >= 200 {
            #expect(
                engine.log.requestsStreamed > 0, "usage batches decided on the helper while appended (seed \(seed))")
        }
        let head = try #require(try engine.log.head())
        let projectors: [any Projector] = [
            CatalogProjector(), SubscriptionsProjector(), QuotasProjector(), UsageRollupsProjector(),
            InvoicesProjector(), RevenueProjector(), MRRProjector(),
        ]
        let names = projectors.map(\.name)
        var incremental: [String: [String: [[UInt8]]]] = [:]
        for name in names {
            incremental[name] = try engine.projections.flatDump(name)
            #expect(try engine.projections.checkpoint(of: name).sequence == head.sequence, "seed \(seed)")
        }
        let snapshot = try ProjectionSnapshot(of: engine.log, asOf: head.sequence, projectors: projectors)
        for name in names {
            try engine.projections.rebuild(name, batchSize: 97)
            #expect(try engine.projections.flatDump(name) == incremental[name], "\(name), seed \(seed)")
            #expect(try snapshot.projections.flatDump(name) == incremental[name], "\(name) as of head, seed \(seed)")
        }
        // All at once, the projectors split between a rebuild's two lanes (by hand, then as
        // measured), usage on the helper's thread: the same bytes.
        let helper: Set<String> = [UsageRollupsProjector.name, SubscriptionsProjector.name, InvoicesProjector.name]
        for lanes in [
            RebuildLanes.Options(helper: helper), RebuildLanes.Options(helper: helper, helperHeldBytesLimit: 1),
            .automatic,
        ] {
            let rebuilt = try engine.projections.rebuild(names, batchSize: 97, lanes: lanes)
            for name in names {
                #expect(
                    try engine.projections.flatDump(name) == incremental[name],
                    "\(name) rebuilt in lanes \(lanes), seed \(seed)")
            }
            if lanes.helper != nil, lanes.helperHeldBytesLimit > 1, head.sequence > 3 * 97 {
                #expect((rebuilt?.aheadsAdopted ?? 0) > 0, "the helper folded batches ahead (seed \(seed))")
            }
        }
        #expect(try engine.log.verify().isIntact)

        // As of an earlier sequence: the same as the read models of the log cut there.
        let cut = UInt64.random(in: 1...head.sequence, using: &random)
        let earlier = try ProjectionSnapshot(of: engine.log, asOf: cut, projectors: projectors)
        let truncatedDirectory = TemporaryDirectory()
        let truncated = try Engine(directory: truncatedDirectory.path, policy: policy)
        for event in try engine.log.events(from: 1, limit: Int(cut)) {
            let envelope = event.envelope
            _ = try truncated.log.appendSynchronously(
                EventDraft(
                    organizationID: envelope.organizationID, eventType: envelope.eventType,
                    schemaVersion: envelope.schemaVersion,
                    occurredAt: event.occurredAt, idempotencyKey: event.idempotencyKey, actor: envelope.actor,
                    payload: envelope.payload))
        }
        for name in names {
            #expect(
                try earlier.projections.flatDump(name) == truncated.projections.flatDump(name),
                "\(name) as of \(cut), seed \(seed)")
        }
        // Whether the stream went everywhere it should: a year of simulated time or more (a
        // shorter run, TALLY_TEST_ITERATIONS below the default, need not reach dunning).
        guard commands >= 1_500 else { return }
        let appended = Set(try engine.log.events(from: 1, limit: Int(head.sequence)).map(\.eventType))
        for type in [
            BillingEventType.subscriptionRenewed, .subscriptionActivated, .usageCorrected, .quotaConfigured,
            .organizationUpdated, .invoiceDrafted,
            .invoiceIssued, .discountApplied,
        ] {
            #expect(appended.contains(type.rawValue), "the stream should reach \(type.rawValue) (seed \(seed))")
        }
        // Which of them depends on the cards drawn; DunningTests covers each path by name.
        #expect(
            appended.contains(BillingEventType.paymentSucceeded.rawValue)
                || appended.contains(BillingEventType.paymentFailed.rawValue), "seed \(seed)")
    }
}
