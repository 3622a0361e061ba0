import Billing
import BillingEvents
import EventLog
public import Foundation
import LMDB
import Projections
import ReadModels
import SwiftProtobuf
import Synchronization

/// What one `Engine.advance(to:)` appended.
public struct AdvanceReport: Sendable, Hashable {
    /// Events appended, by event type.
    public var appended: [String: Int] = [:]

    public var total: Int { appended.values.reduce(0, +) }
}

extension Engine {
    /// Appends every time-driven event due at or before `date`, in time order (ties by
    /// organization id), each at the moment it was due: trials ending (activated with a
    /// payment method on file, else expired), periods closing (a draft invoice, then the
    /// renewal with any scheduled plan change, at the price then in force), drafts finalized
    /// once the late-usage grace has passed (numbered, with late usage of earlier periods),
    /// cancellations scheduled for a period's end, and grace periods running out. With a
    /// gateway, it also collects each finalized invoice and runs dunning: retries on the
    /// policy's schedule, past due at the first failure, grace after the last, then cancel or
    /// unpaid. A second call with the same date appends nothing.
    ///
    /// Time-driven events are committed `eventsPerCommit` at a time; several processes may
    /// advance the same log at once and each due change is still appended exactly once,
    /// because every decision reads the read models inside the append's transaction (payment
    /// attempts use idempotency keys with the gateway, so it answers both alike). A gateway
    /// that times out stops the run with its error, having recorded nothing for that attempt;
    /// calling `advance` again retries it.
    @discardableResult
    public func advance(to date: Date, eventsPerCommit: Int = 2_000) async throws -> AdvanceReport {
        guard eventsPerCommit > 0 else {
            throw EngineError.invalid(field: "events_per_commit", rule: "must be positive, got \(eventsPerCommit)")
        }
        var report = AdvanceReport()
        let end = QuotasProjector.nanoseconds(Google_Protobuf_Timestamp(date: date))
        var stalled = Stall()
        while true {
            // Payments are attempted in time order with everything else: time-driven events
            // run up to the first attempt due, then the attempts due at that moment.
            let collectionDue = try gateway == nil ? nil : firstCollectionDue().flatMap { $0 <= end ? $0 : nil }
            let bound = collectionDue.map(Self.date(nanoseconds:)) ?? date
            let appended = try await appendDueEvents(
                upTo: bound, limit: eventsPerCommit, stopAfterCollectible: gateway != nil)
            for type in appended.types { report.appended[type, default: 0] += 1 }
            if appended.more {
                try stalled.check(
                    progressed: !appended.types.isEmpty, at: collectionDue,
                    "due events up to \(bound.formatted(.iso8601))")
                continue
            }
            guard let gateway, let due = try firstCollectionDue(), due <= end else { return report }
            let at = Self.date(nanoseconds: due)
            let invoiceIDs = try projections.read(InvoicesProjector.name) {
                try InvoicesProjector.collectionsDue(at: due, in: $0)
            }
            var progressed = !appended.types.isEmpty
            for invoiceID in invoiceIDs {
                let attempt = try await attemptCollection(of: invoiceID, through: gateway, at: at, scheduledAt: due)
                for type in attempt.appended { report.appended[type, default: 0] += 1 }
                progressed = progressed || !attempt.appended.isEmpty
            }
            try stalled.check(
                progressed: progressed, at: due, "payment attempts due at \(at.formatted(.iso8601)) for \(invoiceIDs)")
        }
    }

    /// Rounds of `advance` in a row that appended nothing while the same moment stayed due. One
    /// such round is normal (another process may have just recorded what was due); several mean
    /// the read models disagree with themselves, and looping on would never end, so `advance`
    /// stops and says what it was stuck on.
    private struct Stall {
        private var rounds = 0
        private var at: Int64?

        mutating func check(progressed: Bool, at moment: Int64?, _ what: @autoclosure () -> String) throws {
            guard !progressed else {
                rounds = 0
                return
            }
            rounds = moment == at ? rounds + 1 : 1
            at = moment
            if rounds >= 3 {
                throw EngineError.conflict(
                    "advance made no progress on \(what()) in three rounds: the read models disagree with themselves (please report this)"
                )
            }
        }
    }

    private func firstCollectionDue() throws -> Int64? {
        try projections.read(InvoicesProjector.name) { try InvoicesProjector.firstCollectionDue(in: $0) }
    }

    static func date(nanoseconds: Int64) -> Date {
        Google_Protobuf_Timestamp(seconds: nanoseconds / 1_000_000_000, nanos: Int32(nanoseconds % 1_000_000_000)).date
    }

    /// One commit of due events; `more` when the commit was full or stopped at an invoice to
    /// collect, so more may be due.
    private func appendDueEvents(upTo date: Date, limit: Int, stopAfterCollectible: Bool) async throws -> (
        types: [String], more: Bool
    ) {
        let projections = projections
        let taxTable = taxTable
        let policy = policy
        // The decision can run again (after map growth); the run that committed sets this last.
        let decided = Mutex<(types: [String], more: Bool)>(([], false))
        let receipts = try await log.append { decision in
            let due = try Self.dueEvents(
                upTo: date, limit: limit, stopAfterCollectible: stopAfterCollectible, decision, projections, taxTable,
                policy)
            decided.withLock { $0 = (due.drafts.map(\.eventType), due.more) }
            return due.drafts
        }
        let (types, more) = decided.withLock { $0 }
        return (zip(types, receipts).filter { !$0.1.isDuplicate }.map(\.0), more)
    }

    /// One due moment of one organization: a subscription's change (after the draft of the
    /// period it closes, if any), or a draft's finalization.
    private struct DueMoment {
        enum Work {
            case change(EventDraft, closing: Tally_V1_InvoiceDrafted?)
            case finalize(Tally_V1_InvoiceDrafted)
        }

        var at: Date
        var organization: [UInt8]
        /// Orders one organization's moments at the same instant: changes by step, then finalizing.
        var order: Int
        var work: Work
    }

    /// The first `limit` due moments across all organizations, in time order, as events. Each
    /// organization's changes are looked ahead by folding them through the subscriptions
    /// projector's own rule, so a subscription several periods behind catches up in one go.
    private static func dueEvents(
        upTo date: Date, limit: Int, stopAfterCollectible: Bool, _ decision: borrowing AppendDecision,
        _ projections: ProjectionSet,
        _ taxTable: TaxTable?, _ policy: BillingPolicy
    ) throws -> (drafts: [EventDraft], more: Bool) {
        let subscriptions = try projections.reader(SubscriptionsProjector.name, in: decision.transaction)
        let catalog = try projections.reader(CatalogProjector.name, in: decision.transaction)
        let invoices = try projections.reader(InvoicesProjector.name, in: decision.transaction)
        var drafting = InvoiceDrafting(
            catalog: catalog, quotas: try projections.reader(QuotasProjector.name, in: decision.transaction),
            invoices: invoices,
            taxTable: taxTable, policy: policy)
        // The first `limit` moments all belong to the first `limit` organizations due and the
        // first `limit` drafts due: anything later comes at or after each of theirs.
        var pending: [DueMoment] = []
        for organizationID in try SubscriptionsProjector.due(atOrBefore: date, limit: limit, in: subscriptions) {
            guard var record = try SubscriptionsProjector.current(of: organizationID, in: subscriptions) else {
                continue
            }
            let organization = Array(organizationID.utf8)
            var step = 0
            while step < limit, let at = record.nextChangeAt, at <= date {
                // A period that ends is drafted first, from the record as the period left it.
                let closing = try drafting.draft(closing: record, organizationID: organizationID, at: at)
                let change = try timeDrivenEvent(
                    for: record, organizationID: organizationID, at: at, catalog: catalog, policy)
                guard let next = try SubscriptionsProjector.folding(record, StoredEvent(previewing: change)) else {
                    break
                }
                if let nextAt = next.nextChangeAt, nextAt <= at {
                    throw EngineError.conflict(
                        "the subscription of \(organizationID) would not move past \(at.formatted(.iso8601)) (\(change.eventType))"
                    )
                }
                pending.append(
                    DueMoment(at: at, organization: organization, order: step, work: .change(change, closing: closing)))
                if let closing, closing.finalizeAt.date <= date {
                    pending.append(
                        DueMoment(
                            at: closing.finalizeAt.date, organization: organization, order: .max,
                            work: .finalize(closing)))
                }
                record = next
                step += 1
            }
        }
        let end = QuotasProjector.nanoseconds(Google_Protobuf_Timestamp(date: date))
        for (organizationID, draftID) in try InvoicesProjector.finalizationsDue(
            atOrBefore: end, limit: limit, in: invoices)
        {
            guard let draft = try InvoicesProjector.draft(draftID, of: organizationID, in: invoices) else { continue }
            pending.append(
                DueMoment(
                    at: draft.finalizeAt.date, organization: Array(organizationID.utf8), order: .max,
                    work: .finalize(draft)))
        }
        pending.sort { a, b in
            if a.at != b.at { return a.at < b.at }
            if a.organization != b.organization { return a.organization.lexicographicallyPrecedes(b.organization) }
            return a.order < b.order
        }
        // Numbers are given here, in the order the invoices will be appended, to exactly those
        // appended: gap-free and increasing within each series, however the work is batched.
        var lastNumbers: [String: UInt64] = [:]
        var drafts: [EventDraft] = []
        for moment in pending.prefix(limit) {
            let organizationID = String(decoding: moment.organization, as: UTF8.self)
            switch moment.work {
            case .change(let change, let closing):
                if let closing {
                    drafts.append(
                        EventDraft(
                            organizationID: organizationID, eventType: BillingEventType.invoiceDrafted.rawValue,
                            occurredAt: moment.at,
                            idempotencyKey: "invoice.drafted:\(closing.subscriptionID):\(closing.periodEnd.seconds)",
                            actor: "tally.advance",
                            payload: try closing.deterministicData()))
                }
                drafts.append(change)
            case .finalize(let draft):
                var invoice = try drafting.invoice(finalizing: draft, organizationID: organizationID)
                let series = invoice.series
                let number = try (lastNumbers[series] ?? InvoicesProjector.lastNumber(in: series, invoices)) + 1
                lastNumbers[series] = number
                invoice.number = number
                invoice.invoiceID = Self.invoiceID(series: series, number: number)
                try drafting.noteIssued(invoice)
                drafts.append(
                    EventDraft(
                        organizationID: organizationID, eventType: BillingEventType.invoiceIssued.rawValue,
                        occurredAt: moment.at,
                        idempotencyKey: "invoice.issued:\(draft.subscriptionID):\(draft.periodEnd.seconds)",
                        actor: "tally.advance",
                        payload: try invoice.deterministicData()))
                // Its payment is attempted before anything later happens.
                if stopAfterCollectible, invoice.amountDue.minorUnits > 0 { return (drafts, true) }
            }
        }
        return (drafts, pending.count >= limit)
    }

    /// How invoice numbers print: the series, a dash, six digits.
    static func invoiceID(series: String, number: UInt64) -> String {
        let digits = String(number)
        return "\(series)-" + String(repeating: "0", count: max(0, 6 - digits.count)) + digits
    }

    /// The one event time causes next for `record`, at `at` (its `nextChangeAt`).
    private static func timeDrivenEvent(
        for record: SubscriptionRecord, organizationID: String, at: Date, catalog: ProjectionReader,
        _ policy: BillingPolicy
    ) throws -> EventDraft {
        let subscription = record.subscription
        let type: BillingEventType
        let payload: any SwiftProtobuf.Message
        switch subscription.status {
        case .trialing:
            guard let organization = try CatalogProjector.organization(organizationID, in: catalog) else {
                throw EngineError.notFound("organization \(organizationID)")
            }
            if organization.paymentMethod.isEmpty {
                type = .subscriptionExpired
                payload = Tally_V1_SubscriptionExpired.with {
                    $0.subscriptionID = record.id
                    $0.effectiveAt = Google_Protobuf_Timestamp(date: at)
                }
            } else {
                let period = subscription.schedule.period(0)
                let price = try recurringPrice(
                    of: try plan(subscription.planID, catalog), interval: subscription.interval, for: organizationID,
                    at: period.start, catalog: catalog)
                type = .subscriptionActivated
                payload = Tally_V1_SubscriptionActivated.with {
                    $0.subscriptionID = record.id
                    $0.planID = subscription.planID
                    $0.interval = Tally_V1_Interval(subscription.interval)
                    $0.periodStart = Google_Protobuf_Timestamp(date: period.start)
                    $0.periodEnd = Google_Protobuf_Timestamp(date: period.end)
                    $0.recurringPrice = Tally_V1_Money(price)
                }
            }
        case .grace(_, let until) where until == at:
            (type, payload) = dunningEnd(record, at: at, policy)
        case .active, .pastDue, .grace, .unpaid:
            guard let period = record.currentPeriod else {
                throw EngineError.conflict("the subscription of \(organizationID) has no current period")
            }
            if subscription.cancelsAtPeriodEnd {
                type = .subscriptionCanceled
                payload = Tally_V1_SubscriptionCanceled.with {
                    $0.subscriptionID = record.id
                    $0.effectiveAt = Google_Protobuf_Timestamp(date: period.end)
                    $0.reason = .periodEnd
                }
            } else {
                let planID = subscription.scheduledChange?.planID ?? subscription.planID
                let interval = subscription.scheduledChange?.interval ?? subscription.interval
                // A new interval starts a new cycle at the renewal, as the state machine does.
                let next =
                    interval == subscription.interval
                    ? subscription.schedule.period(containing: period.end)
                    : try BillingSchedule(anchor: period.end, interval: interval).period(0)
                let price = try recurringPrice(
                    of: try plan(planID, catalog), interval: interval, for: organizationID, at: next.start,
                    catalog: catalog)
                type = .subscriptionRenewed
                payload = Tally_V1_SubscriptionRenewed.with {
                    $0.subscriptionID = record.id
                    $0.planID = planID
                    $0.periodStart = Google_Protobuf_Timestamp(date: next.start)
                    $0.periodEnd = Google_Protobuf_Timestamp(date: next.end)
                    $0.recurringPrice = Tally_V1_Money(price)
                }
            }
        case .canceled, .expired:
            throw EngineError.conflict("the subscription of \(organizationID) has ended; nothing is due")
        }
        let nanoseconds = Google_Protobuf_Timestamp(date: at)
        return EventDraft(
            organizationID: organizationID, eventType: type.rawValue, occurredAt: at,
            idempotencyKey: "\(type.rawValue):\(record.id):\(nanoseconds.seconds).\(nanoseconds.nanos)",
            actor: "tally.advance",
            payload: try payload.deterministicData())
    }

    /// What ends dunning, as the policy says: canceled for nonpayment, or kept unpaid.
    static func dunningEnd(_ record: SubscriptionRecord, at date: Date, _ policy: BillingPolicy) -> (
        BillingEventType, any SwiftProtobuf.Message
    ) {
        switch policy.whenDunningEnds {
        case .cancel:
            (
                .subscriptionCanceled,
                Tally_V1_SubscriptionCanceled.with {
                    $0.subscriptionID = record.id
                    $0.effectiveAt = Google_Protobuf_Timestamp(date: date)
                    $0.reason = .nonpayment
                }
            )
        case .markUnpaid:
            (
                .subscriptionMarkedUnpaid,
                Tally_V1_SubscriptionMarkedUnpaid.with {
                    $0.subscriptionID = record.id
                    $0.since = Google_Protobuf_Timestamp(date: date)
                }
            )
        }
    }

    private static func plan(_ id: String, _ catalog: ProjectionReader) throws -> Plan {
        try InvoiceDrafting.plan(id, catalog)
    }
}

extension StoredEvent {
    /// The event `draft` would become, for folding ahead of the append (no sequence or hash).
    init(previewing draft: EventDraft) {
        var envelope = Tally_V1_Envelope()
        envelope.organizationID = draft.organizationID
        envelope.eventType = draft.eventType
        envelope.schemaVersion = draft.schemaVersion
        envelope.occurredAt = Google_Protobuf_Timestamp(date: draft.occurredAt)
        envelope.idempotencyKey = draft.idempotencyKey ?? ""
        envelope.payload = draft.payload
        self.init(envelope: envelope, hash: .zero)
    }
}
