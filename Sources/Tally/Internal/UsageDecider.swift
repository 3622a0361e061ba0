import Billing
import BillingEvents
import EventLog
import Foundation
import LMDB
import Projections
import ReadModels
import SwiftProtobuf

/// Decides a batch of usage inside one append transaction. The read models do not yet hold
/// the batch's own events, so it keeps what they will become (counters, limit flags, unique
/// members, idempotency keys) in memory, and each record is checked exactly as if the ones
/// before it had been appended alone.
struct UsageDecider {
    /// What became of one record.
    enum Outcome {
        /// Appended as draft number `index` of the batch.
        case appended(draft: Int)
        /// A retry of event `sequence`, already in the log.
        case retry(of: UInt64)
        /// A retry of an earlier record of the same batch.
        case sameAs(record: Int)
        case refused(EngineError)
    }

    private let projections: ProjectionSet
    private let transaction: Transaction
    private let subscriptions: ProjectionReader
    private let catalog: ProjectionReader
    private let quotas: ProjectionReader
    private var contexts: [CounterKey: QuotaContext] = [:]
    /// The organizations' subscriptions and plans, kept from earlier batches while they hold.
    private(set) var terms: UsageTermsCache.Terms
    /// The stamp of the read models `terms` come from (nil: they are this batch's alone).
    let termsStamp: ReadModelStamp?
    private var newMembers: Set<[UInt8]> = []
    private var keys: [KeyOwner: Int] = [:]
    private(set) var drafts: [EventDraft] = []
    private(set) var outcomes: [Outcome] = []

    private struct CounterKey: Hashable {
        var organizationID: String
        var metric: String
        var periodStart: Date
    }

    private struct KeyOwner: Hashable {
        var organizationID: String
        var key: String
    }

    init(_ decision: borrowing AppendDecision, projections: ProjectionSet, termsCache: UsageTermsCache, records: Int)
        throws
    {
        self.projections = projections
        termsStamp = projections.stamp(of: UsageTermsCache.readModels, seenBy: decision.transaction)
        terms = termsCache.take(under: termsStamp)
        contexts.reserveCapacity(records)
        keys.reserveCapacity(records)
        drafts.reserveCapacity(records)
        outcomes.reserveCapacity(records)
        transaction = decision.transaction
        subscriptions = try projections.reader(SubscriptionsProjector.name, in: transaction)
        catalog = try projections.reader(CatalogProjector.name, in: transaction)
        quotas = try projections.reader(QuotasProjector.name, in: transaction)
    }

    mutating func decide(_ usage: UsageRecord, _ decision: borrowing AppendDecision) throws {
        do {
            outcomes.append(try outcome(of: usage, decision))
        } catch let error as EngineError {
            outcomes.append(.refused(error))
        }
    }

    private mutating func outcome(of usage: UsageRecord, _ decision: borrowing AppendDecision) throws -> Outcome {
        try Self.validate(usage)
        if let key = usage.idempotencyKey {
            let owner = KeyOwner(organizationID: usage.organizationID, key: key)
            if let earlier = keys[owner] {
                guard case .appended(let draft) = outcomes[earlier], Self.sameUsage(drafts[draft], usage) else {
                    throw EngineError.conflict(
                        "idempotency_key \"\(key)\" of \(usage.organizationID) was used twice in the batch for other usage"
                    )
                }
                return .sameAs(record: earlier)
            }
            if let sequence = try decision.sequence(ofIdempotencyKey: key, organizationID: usage.organizationID) {
                guard let event = try decision.event(at: sequence), Self.sameUsage(event, usage) else {
                    throw EngineError.conflict(
                        "idempotency_key \"\(key)\" of \(usage.organizationID) was already used by event \(sequence) for other usage"
                    )
                }
                return .retry(of: sequence)
            }
        }
        let key = try counterKey(for: usage)
        var context = try contexts[key] ?? newContext(for: usage, periodStart: key.periodStart)

        let periodStart = Google_Protobuf_Timestamp(date: key.periodStart)
        // The message is built only where it is needed: a unique count's member, or properties,
        // which its own encoder sorts. Every other payload is encoded from the fields.
        var message: Tally_V1_UsageRecorded?
        if context.aggregation == .uniqueCount || !usage.properties.isEmpty {
            message = Tally_V1_UsageRecorded.with {
                $0.metric = usage.metric
                $0.quantity = usage.quantity
                $0.userID = usage.userID
                $0.resourceID = usage.resourceID
                $0.properties = usage.properties
                $0.periodStart = periodStart
                $0.aggregation = context.aggregation
                $0.uniqueProperty = context.uniqueProperty
            }
        }
        var memberKey: [UInt8]?
        if context.aggregation == .uniqueCount, let message, let member = QuotasProjector.member(of: message) {
            let candidate = QuotasProjector.memberKey(
                usage.organizationID, usage.metric, periodStart: periodStart.seconds, member: member)
            if !newMembers.contains(candidate), !(try QuotasProjector.hasMember(candidate, in: quotas)) {
                memberKey = candidate
            }
        }
        let next = QuotaCounter.folding(
            context.counter, aggregation: context.aggregation, quantity: usage.quantity,
            occurredAt: QuotasProjector.nanoseconds(Google_Protobuf_Timestamp(date: usage.occurredAt)),
            isNewMember: memberKey != nil)
        if let hard = context.limits.hard, next.value > hard {
            throw EngineError.quotaExceeded(metric: usage.metric, limit: hard, usage: context.counter?.value ?? 0)
        }
        let draft = EventDraft(
            organizationID: usage.organizationID, eventType: BillingEventType.usageRecorded.rawValue,
            occurredAt: usage.occurredAt,
            idempotencyKey: usage.idempotencyKey,
            payload: try message?.deterministicPayload()
                ?? Tally_V1_UsageRecorded.payload(
                    metric: usage.metric, quantity: usage.quantity, userID: usage.userID, resourceID: usage.resourceID,
                    periodStart: periodStart,
                    aggregation: context.aggregation, uniqueProperty: context.uniqueProperty))
        // Refuse this record alone for what the log would refuse the whole batch for (a time too
        // far ahead, a key too long). Its limit events share its organization and time.
        do { try decision.validate(draft) } catch { throw EngineError.invalid(field: error.field, rule: error.rule) }
        let index = drafts.count
        drafts.append(draft)
        var counter = next
        for (limit, type) in [
            (context.limits.soft, BillingEventType.softLimitReached), (context.limits.hard, .hardLimitReached),
        ] {
            let isSoft = type == .softLimitReached
            guard let limit, !(isSoft ? counter.softLimitReached : counter.hardLimitReached), next.value >= limit else {
                continue
            }
            if isSoft { counter.softLimitReached = true } else { counter.hardLimitReached = true }
            let reached = Tally_V1_LimitReached.with {
                $0.metric = usage.metric
                $0.periodStart = periodStart
                $0.usage = next.value
                $0.limit = limit
            }
            drafts.append(
                EventDraft(
                    organizationID: usage.organizationID, eventType: type.rawValue, occurredAt: usage.occurredAt,
                    idempotencyKey: "\(type.rawValue):\(usage.metric):\(periodStart.seconds)",
                    payload: try reached.deterministicData()))
        }
        context.counter = counter
        contexts[key] = context
        if let memberKey { newMembers.insert(memberKey) }
        if let idempotencyKey = usage.idempotencyKey {
            keys[KeyOwner(organizationID: usage.organizationID, key: idempotencyKey)] = outcomes.count
        }
        return .appended(draft: index)
    }

    static func validate(_ usage: UsageRecord) throws {
        guard usage.quantity >= 0 else {
            throw EngineError.invalid(
                field: "quantity", rule: "must not be negative (use a usage correction), got \(usage.quantity)")
        }
        do { _ = try Metric(usage.metric, aggregation: .sum) } catch {
            throw EngineError.invalid(field: "metric", rule: Engine.rule(of: error))
        }
    }

    /// The period the usage counts in, from the organization's subscription.
    private mutating func counterKey(for usage: UsageRecord) throws -> CounterKey {
        let record = try subscription(of: usage.organizationID).record
        guard usage.occurredAt >= record.startedAt else {
            throw EngineError.invalid(
                field: "occurred_at",
                rule:
                    "is before the subscription of \(usage.organizationID) started (\(record.startedAt.formatted(.iso8601)))"
            )
        }
        return CounterKey(
            organizationID: usage.organizationID, metric: usage.metric,
            periodStart: QuotaContext.periodStart(of: record, at: usage.occurredAt))
    }

    /// The first record of a counter in this batch: the plan's terms and the stored counter.
    private mutating func newContext(for usage: UsageRecord, periodStart: Date) throws -> QuotaContext {
        let organization = try subscription(of: usage.organizationID)
        guard let terms = organization.plan.metrics[usage.metric] else {
            throw EngineError.invalid(
                field: "metric", rule: "plan \(organization.record.subscription.planID) does not meter \(usage.metric)")
        }
        return try QuotaContext(
            usage.organizationID, metric: usage.metric, periodStart: periodStart, terms: terms, quotas: quotas)
    }

    /// The organization's subscription and plan, looked up once while they hold.
    private mutating func subscription(of organizationID: String) throws -> UsageTermsCache.OrganizationTerms {
        if let known = terms.organizations[organizationID] { return known }
        let record = try QuotaContext.subscriptionAcceptingUsage(of: organizationID, in: subscriptions)
        let planID = record.subscription.planID
        let plan: Plan
        if let known = terms.plans[planID] {
            plan = known
        } else {
            plan = try QuotaContext.plan(planID, in: catalog)
            terms.plans[planID] = plan
        }
        let organization = UsageTermsCache.OrganizationTerms(record, plan)
        terms.organizations[organizationID] = organization
        return organization
    }

    /// Whether a stored usage event (or a draft) carries the same usage: a true retry.
    private static func sameUsage(_ event: StoredEvent, _ usage: UsageRecord) -> Bool {
        guard event.eventType == BillingEventType.usageRecorded.rawValue,
            let original = try? Tally_V1_UsageRecorded(serializedBytes: event.payload)
        else { return false }
        return original.metric == usage.metric && original.quantity == usage.quantity && original.userID == usage.userID
            && original.resourceID == usage.resourceID && original.properties == usage.properties
    }

    private static func sameUsage(_ draft: EventDraft, _ usage: UsageRecord) -> Bool {
        sameUsage(StoredEvent(previewing: draft), usage)
    }
}
