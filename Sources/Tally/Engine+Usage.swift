import Billing
import BillingEvents
public import EventLog
public import Foundation
import LMDB
import Projections
import ReadModels
import SwiftProtobuf
import Synchronization

extension Engine {
    /// Records usage, checking it against the organization's hard limit inside the append:
    /// strongly consistent, however many tasks and processes record at once. Crossing the soft
    /// or reaching the hard limit appends a limit event with it, once per period. A retry with
    /// the same idempotency key returns the original receipt and counts nothing.
    ///
    /// - Throws: `EngineError.quotaExceeded` past the hard limit; `.notFound` without a
    ///   subscription; `.invalid` naming the field (a metric the plan does not meter, usage
    ///   before the subscription started, a negative quantity); `.conflict` for a reused key.
    @discardableResult
    public func recordUsage(_ usage: UsageRecord) async throws -> AppendReceipt {
        try UsageDecider.validate(usage)
        return try await recordUsage([usage])[0].get()
    }

    /// Records a batch of usage in one commit: each record is checked as if the ones before it
    /// had been recorded alone (limits, retries, unique counts), a refused record does not stop
    /// the others, and the result says what became of each, in order.
    public func recordUsage(_ batch: [UsageRecord]) async throws -> [Result<AppendReceipt, EngineError>] {
        guard !batch.isEmpty else { return [] }
        let (projections, termsCache) = (projections, usageTerms)
        // The decision can run again (after map growth); the run that committed sets this last.
        let decided = Mutex<[UsageDecider.Outcome]>([])
        let receipts: [AppendReceipt]
        if batch.count >= UsageDecider.smallestStreamedBatch {
            // Decided on a second core while the writer appends what is decided.
            receipts = try await log.append(streaming: { decision, sink in
                let outcomes = try UsageDecider.decide(
                    batch: batch, in: decision, projections: projections, termsCache: termsCache, emittingTo: sink)
                decided.withLock { $0 = outcomes }
            })
        } else {
            receipts = try await log.append { decision in
                let result = try UsageDecider.decide(
                    batch: batch, in: decision, projections: projections, termsCache: termsCache)
                decided.withLock { $0 = result.outcomes }
                return result.drafts
            }
        }
        let outcomes = decided.withLock { $0 }
        var results: [Result<AppendReceipt, EngineError>] = []
        results.reserveCapacity(outcomes.count)
        for outcome in outcomes {
            switch outcome {
            case .appended(let draft): results.append(.success(receipts[draft]))
            case .retry(let sequence): results.append(.success(AppendReceipt(sequence: sequence, isDuplicate: true)))
            case .sameAs(let record):
                results.append(results[record].map { AppendReceipt(sequence: $0.sequence, isDuplicate: true) })
            case .refused(let error): results.append(.failure(error))
            }
        }
        return results
    }

    /// Where `organizationID` stands on `metric` in the period holding `date`.
    public func quota(for organizationID: String, metric: String, at date: Date? = nil) throws -> QuotaStatus {
        try live.quota(for: organizationID, metric: metric, at: date)
    }
}

/// Everything a quota decision or query needs about one organization × metric × period.
struct QuotaContext {
    let terms: Plan.MetricTerms
    let limits: QuotaLimits
    let periodStart: Date
    var counter: QuotaCounter?
    /// How the metric aggregates, as usage payloads carry it (converted once, not per event).
    let aggregation: Tally_V1_Aggregation
    let uniqueProperty: String

    init(_ organizationID: String, metric: String, periodStart: Date, terms: Plan.MetricTerms, quotas: ProjectionReader)
        throws
    {
        (aggregation, uniqueProperty) = terms.metric.aggregation.wire
        let configured = try QuotasProjector.configuredLimits(organizationID, metric, in: quotas)
        limits = configured ?? QuotaLimits(soft: terms.softLimit, hard: terms.hardLimit)
        counter = try QuotasProjector.counter(
            organizationID, metric, periodStart: Google_Protobuf_Timestamp(date: periodStart).seconds, in: quotas)
        self.periodStart = periodStart
        self.terms = terms
    }

    /// For a query: the context at `date`, read through `txn`.
    init(_ organizationID: String, metric: String, at date: Date, projections: ProjectionSet, txn: Transaction) throws {
        let (record, plan) = try Self.subscription(
            of: organizationID, subscriptions: try projections.reader(SubscriptionsProjector.name, in: txn),
            catalog: try projections.reader(CatalogProjector.name, in: txn))
        guard let terms = plan.metrics[metric] else {
            throw EngineError.invalid(
                field: "metric", rule: "plan \(record.subscription.planID) does not meter \(metric)")
        }
        try self.init(
            organizationID, metric: metric, periodStart: Self.periodStart(of: record, at: max(date, record.startedAt)),
            terms: terms,
            quotas: try projections.reader(QuotasProjector.name, in: txn))
    }

    /// The organization's live subscription and its plan.
    static func subscription(of organizationID: String, subscriptions: ProjectionReader, catalog: ProjectionReader)
        throws -> (SubscriptionRecord, Plan)
    {
        let record = try subscriptionAcceptingUsage(of: organizationID, in: subscriptions)
        return (record, try plan(record.subscription.planID, in: catalog))
    }

    /// The organization's subscription, if it accepts usage.
    static func subscriptionAcceptingUsage(of organizationID: String, in subscriptions: ProjectionReader) throws
        -> SubscriptionRecord
    {
        guard let record = try SubscriptionsProjector.current(of: organizationID, in: subscriptions) else {
            throw EngineError.notFound("subscription of \(organizationID)")
        }
        guard record.subscription.status.acceptsUsage else {
            throw EngineError.conflict(
                "the subscription of \(organizationID) is \(record.subscription.status.name): usage is not accepted")
        }
        return record
    }

    static func plan(_ planID: String, in catalog: ProjectionReader) throws -> Plan {
        guard let plan = try CatalogProjector.plan(planID, in: catalog)?.plan else {
            throw EngineError.notFound("plan \(planID)")
        }
        return plan
    }

    /// The start of the period usage at `date` counts in: the trial's start before the
    /// schedule's anchor, else the billing period holding it (the current one, usually).
    static func periodStart(of record: SubscriptionRecord, at date: Date) -> Date {
        if let current = record.currentPeriod, current.contains(date) { return current.start }
        let schedule = record.subscription.schedule
        return date < schedule.anchor ? record.startedAt : schedule.period(containing: date).start
    }

    var status: QuotaStatus {
        QuotaStatus(
            metric: terms.metric.name, periodStart: periodStart, usage: counter?.value ?? 0, included: terms.included,
            softLimit: limits.soft, hardLimit: limits.hard)
    }
}
