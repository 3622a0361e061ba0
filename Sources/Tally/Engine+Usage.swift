import Billing
import BillingEvents
public import EventLog
public import Foundation
import Projections
import ReadModels
import SwiftProtobuf
import Synchronization
import LMDB

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
        guard usage.quantity >= 0 else { throw EngineError.invalid(field: "quantity", rule: "must not be negative (use a usage correction), got \(usage.quantity)") }
        do { _ = try Metric(usage.metric, aggregation: .sum) } catch { throw EngineError.invalid(field: "metric", rule: Self.rule(of: error)) }
        let projections = projections
        let original = Mutex<UInt64?>(nil)
        let receipts = try await log.append { decision in
            if let key = usage.idempotencyKey, let sequence = try decision.sequence(ofIdempotencyKey: key, organizationID: usage.organizationID) {
                try Self.checkRetry(of: sequence, matches: usage, decision)
                original.withLock { $0 = sequence }
                return []
            }
            return try Self.decideUsage(usage, decision, projections)
        }
        if let sequence = original.withLock({ $0 }) { return AppendReceipt(sequence: sequence, isDuplicate: true) }
        return receipts[0]
    }

    /// Where `organizationID` stands on `metric` in the period holding `date`.
    public func quota(for organizationID: String, metric: String, at date: Date? = nil) throws -> QuotaStatus {
        let date = date ?? clock()
        return try projections.environment.read { txn in
            let context = try QuotaContext(organizationID, metric: metric, at: date, projections: projections, txn: txn)
            return context.status
        }
    }

    // MARK: Decisions

    private static func decideUsage(_ usage: UsageRecord, _ decision: borrowing AppendDecision, _ projections: ProjectionSet) throws -> [EventDraft] {
        let context = try QuotaContext(usage.organizationID, metric: usage.metric, at: usage.occurredAt, projections: projections, txn: decision.transaction)
        var payload = Tally_V1_UsageRecorded()
        payload.metric = usage.metric
        payload.quantity = usage.quantity
        payload.userID = usage.userID
        payload.resourceID = usage.resourceID
        payload.properties = usage.properties
        payload.periodStart = Google_Protobuf_Timestamp(date: context.periodStart)
        let terms = Tally_V1_MetricTerms(context.terms)
        payload.aggregation = terms.aggregation
        payload.uniqueProperty = terms.uniqueProperty
        var isNewMember = false
        if payload.aggregation == .uniqueCount, let member = QuotasProjector.member(of: payload) {
            isNewMember = try !QuotasProjector.hasMember(member, usage.organizationID, usage.metric, periodStart: payload.periodStart.seconds, in: context.quotas)
        }
        let next = QuotaCounter.folding(
            context.counter, aggregation: payload.aggregation, quantity: usage.quantity,
            occurredAt: QuotasProjector.nanoseconds(Google_Protobuf_Timestamp(date: usage.occurredAt)), isNewMember: isNewMember)
        if let hard = context.limits.hard, next.value > hard {
            throw EngineError.quotaExceeded(metric: usage.metric, limit: hard, usage: context.counter?.value ?? 0)
        }
        var drafts = [EventDraft(
            organizationID: usage.organizationID, eventType: BillingEventType.usageRecorded.rawValue, occurredAt: usage.occurredAt,
            idempotencyKey: usage.idempotencyKey, payload: try payload.serializedData())]
        for (limit, type, alreadyReached) in [
            (context.limits.soft, BillingEventType.softLimitReached, context.counter?.softLimitReached ?? false),
            (context.limits.hard, BillingEventType.hardLimitReached, context.counter?.hardLimitReached ?? false),
        ] {
            guard let limit, !alreadyReached, next.value >= limit else { continue }
            let reached = Tally_V1_LimitReached.with {
                $0.metric = usage.metric
                $0.periodStart = payload.periodStart
                $0.usage = next.value
                $0.limit = limit
            }
            drafts.append(EventDraft(
                organizationID: usage.organizationID, eventType: type.rawValue, occurredAt: usage.occurredAt,
                idempotencyKey: "\(type.rawValue):\(usage.metric):\(payload.periodStart.seconds)", payload: try reached.serializedData()))
        }
        return drafts
    }

    /// A reused idempotency key must carry the same usage; otherwise it is a conflict.
    private static func checkRetry(of sequence: UInt64, matches usage: UsageRecord, _ decision: borrowing AppendDecision) throws {
        guard let event = try decision.event(at: sequence), event.eventType == BillingEventType.usageRecorded.rawValue,
            let original = try? Tally_V1_UsageRecorded(serializedBytes: event.payload),
            original.metric == usage.metric, original.quantity == usage.quantity, original.userID == usage.userID,
            original.resourceID == usage.resourceID, original.properties == usage.properties
        else {
            throw EngineError.conflict("idempotency_key \"\(usage.idempotencyKey ?? "")\" of \(usage.organizationID) was already used by event \(sequence) for other usage")
        }
    }
}

/// Everything a quota decision or query needs, read through one transaction.
struct QuotaContext {
    let terms: Plan.MetricTerms
    let limits: QuotaLimits
    let periodStart: Date
    let counter: QuotaCounter?
    let quotas: ProjectionReader

    init(_ organizationID: String, metric: String, at date: Date, projections: ProjectionSet, txn: Transaction) throws {
        let subscriptions = try projections.reader(SubscriptionsProjector.name, in: txn)
        guard let record = try SubscriptionsProjector.current(of: organizationID, in: subscriptions) else {
            throw EngineError.notFound("subscription of \(organizationID)")
        }
        guard record.subscription.status.isLive else {
            throw EngineError.conflict("the subscription of \(organizationID) is \(record.subscription.status.name): usage is not accepted")
        }
        guard date >= record.startedAt else {
            throw EngineError.invalid(field: "occurred_at", rule: "is before the subscription of \(organizationID) started (\(record.startedAt.formatted(.iso8601)))")
        }
        let catalog = try projections.reader(CatalogProjector.name, in: txn)
        guard let plan = try CatalogProjector.plan(record.subscription.planID, in: catalog)?.plan, let terms = plan.metrics[metric] else {
            throw EngineError.invalid(field: "metric", rule: "plan \(record.subscription.planID) does not meter \(metric)")
        }
        // Before the schedule's anchor (during the trial) usage counts in the trial period.
        let schedule = record.subscription.schedule
        periodStart = date < schedule.anchor ? record.startedAt : schedule.period(containing: date).start
        quotas = try projections.reader(QuotasProjector.name, in: txn)
        let configured = try QuotasProjector.configuredLimits(organizationID, metric, in: quotas)
        limits = configured ?? QuotaLimits(soft: terms.softLimit, hard: terms.hardLimit)
        counter = try QuotasProjector.counter(organizationID, metric, periodStart: Google_Protobuf_Timestamp(date: periodStart).seconds, in: quotas)
        self.terms = terms
    }

    var status: QuotaStatus {
        QuotaStatus(
            metric: terms.metric.name, periodStart: periodStart, usage: counter?.value ?? 0, included: terms.included,
            softLimit: limits.soft, hardLimit: limits.hard)
    }
}
