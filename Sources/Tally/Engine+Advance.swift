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
    /// payment method on file, else expired), periods renewing (taking any scheduled plan
    /// change, at the price then in force), cancellations scheduled for a period's end, and
    /// grace periods running out. A second call with the same date appends nothing.
    ///
    /// The work is committed `eventsPerCommit` events at a time; several processes may
    /// advance the same log at once and each due change is still appended exactly once,
    /// because every decision reads the read models inside the append's transaction.
    @discardableResult
    public func advance(to date: Date, eventsPerCommit: Int = 2_000) async throws -> AdvanceReport {
        guard eventsPerCommit > 0 else { throw EngineError.invalid(field: "events_per_commit", rule: "must be positive, got \(eventsPerCommit)") }
        let projections = projections
        let taxTable = taxTable
        var report = AdvanceReport()
        while true {
            // The decision can run again (after map growth); the run that committed sets this last.
            let decided = Mutex<[String]>([])
            let receipts = try await log.append { decision in
                let drafts = try Self.dueEvents(upTo: date, limit: eventsPerCommit, decision, projections, taxTable)
                decided.withLock { $0 = drafts.map(\.eventType) }
                return drafts
            }
            let types = decided.withLock { $0 }
            for (type, receipt) in zip(types, receipts) where !receipt.isDuplicate { report.appended[type, default: 0] += 1 }
            if types.count < eventsPerCommit { return report }
        }
    }

    /// The first `limit` due events across all organizations, in time order. Each
    /// organization's changes are looked ahead by folding them through the subscriptions
    /// projector's own rule, so a subscription several periods behind catches up in one go.
    private static func dueEvents(
        upTo date: Date, limit: Int, _ decision: borrowing AppendDecision, _ projections: ProjectionSet, _ taxTable: TaxTable?
    ) throws -> [EventDraft] {
        let subscriptions = try projections.reader(SubscriptionsProjector.name, in: decision.transaction)
        let catalog = try projections.reader(CatalogProjector.name, in: decision.transaction)
        let quotas = try projections.reader(QuotasProjector.name, in: decision.transaction)
        let invoices = try projections.reader(InvoicesProjector.name, in: decision.transaction)
        // The first `limit` events all belong to the first `limit` organizations due: any
        // later organization's events come at or after each of theirs.
        let organizations = try SubscriptionsProjector.due(atOrBefore: date, limit: limit, in: subscriptions)
        var pending: [(at: Date, organization: [UInt8], step: Int, event: DueEvent)] = []
        for organizationID in organizations {
            guard var record = try SubscriptionsProjector.current(of: organizationID, in: subscriptions) else { continue }
            var step = 0
            while step < limit, let at = record.nextChangeAt, at <= date {
                // A period that ends is invoiced first, from the record as the period left it;
                // the invoice and the change after it are never split across commits.
                let invoice = try closingInvoice(for: record, organizationID: organizationID, at: at, catalog: catalog, quotas: quotas, taxTable)
                let draft = try timeDrivenEvent(for: record, organizationID: organizationID, at: at, catalog: catalog)
                guard let next = try SubscriptionsProjector.folding(record, StoredEvent(previewing: draft)) else { break }
                if let nextAt = next.nextChangeAt, nextAt <= at {
                    throw EngineError.conflict("the subscription of \(organizationID) would not move past \(at.formatted(.iso8601)) (\(draft.eventType))")
                }
                pending.append((at, Array(organizationID.utf8), step, DueEvent(invoice: invoice, change: draft)))
                record = next
                step += 1
            }
        }
        pending.sort { a, b in
            if a.at != b.at { return a.at < b.at }
            if a.organization != b.organization { return a.organization.lexicographicallyPrecedes(b.organization) }
            return a.step < b.step
        }
        // Numbers are given last, in the order the invoices will be appended, to exactly those
        // appended: gap-free and increasing within each series, however the work is batched.
        var lastNumbers: [String: UInt64] = [:]
        var drafts: [EventDraft] = []
        for entry in pending.prefix(limit) {
            defer { drafts.append(entry.event.change) }
            if var invoice = entry.event.invoice {
                let series = invoice.series
                let number = try (lastNumbers[series] ?? InvoicesProjector.lastNumber(in: series, invoices)) + 1
                lastNumbers[series] = number
                invoice.number = number
                invoice.invoiceID = Self.invoiceID(series: series, number: number)
                drafts.append(EventDraft(
                    organizationID: String(decoding: entry.organization, as: UTF8.self), eventType: BillingEventType.invoiceIssued.rawValue,
                    occurredAt: entry.at, idempotencyKey: "invoice.issued:\(invoice.subscriptionID):\(invoice.periodEnd.seconds)",
                    actor: "tally.advance", payload: try invoice.deterministicData()))
            }
        }
        return drafts
    }

    /// What one due moment appends: the invoice closing a period (still without its number),
    /// if one ends, and the subscription's change.
    private struct DueEvent {
        var invoice: Tally_V1_InvoiceIssued?
        var change: EventDraft
    }

    /// How invoice numbers print: the series, a dash, six digits.
    static func invoiceID(series: String, number: UInt64) -> String {
        let digits = String(number)
        return "\(series)-" + String(repeating: "0", count: max(0, 6 - digits.count)) + digits
    }

    /// The invoice that closes `record`'s current period when its end is due at `at`: the
    /// recurring fee, the period's prorations, usage above the included quantities, the
    /// contract's discount and true-up, and tax as the seller's table says. Nil when no period
    /// ends at `at` (a trial's end, a grace period running out mid-period).
    private static func closingInvoice(
        for record: SubscriptionRecord, organizationID: String, at: Date, catalog: ProjectionReader, quotas: ProjectionReader, _ taxTable: TaxTable?
    ) throws -> Tally_V1_InvoiceIssued? {
        guard let period = record.currentPeriod, period.end == at, let price = record.periodPrice ?? record.recurringPrice else { return nil }
        switch record.subscription.status {
        case .active, .pastDue, .grace: break
        default: return nil
        }
        let plan = try plan(record.subscription.planID, catalog)
        guard let organization = try CatalogProjector.organization(organizationID, in: catalog) else { throw EngineError.notFound("organization \(organizationID)") }
        let contract = try CatalogProjector.contract(of: organizationID, in: catalog).flatMap {
            $0.isInEffect(at: period.start) && $0.basePlanID == plan.id && $0.currency == price.currency ? $0 : nil
        }
        let periodStart = Google_Protobuf_Timestamp(date: period.start).seconds
        var usage: [InvoiceCalculation.Usage] = []
        for (name, terms) in plan.metrics.sorted(by: { $0.key < $1.key }) where (contract?.metricPrices[name] ?? terms.overagePrice) != nil {
            let quantity = try QuotasProjector.counter(organizationID, name, periodStart: periodStart, in: quotas)?.value ?? 0
            usage.append(.init(terms: terms, quantity: quantity))
        }
        let treatment = taxTable?.treatment(country: organization.country, taxID: organization.taxID) ?? .untaxed
        let calculation: InvoiceCalculation
        do throws(BillingError) {
            calculation = try InvoiceCalculation(
                currency: price.currency, recurring: [("\(plan.name), \(record.subscription.interval)", price)],
                prorations: record.unbilledProrations.map { ($0.credit, $0.charge) }, usage: usage, contract: contract, treatment: treatment)
        } catch {
            throw EngineError.invalid(field: "invoice", rule: error.description)
        }
        return Tally_V1_InvoiceIssued.with {
            $0.series = String(Calendar.utcGregorian.component(.year, from: period.end))
            $0.subscriptionID = record.id
            $0.periodStart = Google_Protobuf_Timestamp(date: period.start)
            $0.periodEnd = Google_Protobuf_Timestamp(date: period.end)
            $0.currency = price.currency.code
            $0.lines = calculation.lines.map { line in
                Tally_V1_InvoiceLineItem.with {
                    $0.kind = line.kind.rawValue
                    $0.description_p = line.description
                    $0.quantity = line.quantity ?? 0
                    $0.amount = Tally_V1_Money(line.amount)
                    $0.tax = Tally_V1_Money(line.tax)
                }
            }
            $0.subtotal = Tally_V1_Money(calculation.subtotal)
            $0.discounts = Tally_V1_Money(calculation.discounts)
            $0.tax = Tally_V1_Money(calculation.tax)
            $0.total = Tally_V1_Money(calculation.total)
            $0.amountDue = Tally_V1_Money(calculation.amountDue)
            switch treatment {
            case .taxed(let rate):
                $0.taxName = rate.name
                $0.taxJurisdiction = rate.jurisdiction
                $0.taxPercent = rate.percent.description
            case .reverseCharge(let vatID):
                $0.reverseChargeVatID = vatID
                $0.note = treatment.note ?? ""
            case .untaxed:
                break
            }
        }
    }

    /// The one event time causes next for `record`, at `at` (its `nextChangeAt`).
    private static func timeDrivenEvent(
        for record: SubscriptionRecord, organizationID: String, at: Date, catalog: ProjectionReader
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
                let price = try recurringPrice(of: try plan(subscription.planID, catalog), interval: subscription.interval, for: organizationID, at: period.start, catalog: catalog)
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
            type = .subscriptionCanceled
            payload = Tally_V1_SubscriptionCanceled.with {
                $0.subscriptionID = record.id
                $0.effectiveAt = Google_Protobuf_Timestamp(date: at)
                $0.reason = .nonpayment
            }
        case .active, .pastDue, .grace:
            guard let period = record.currentPeriod else { throw EngineError.conflict("the subscription of \(organizationID) has no current period") }
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
                let next = interval == subscription.interval
                    ? subscription.schedule.period(containing: period.end)
                    : try BillingSchedule(anchor: period.end, interval: interval).period(0)
                let price = try recurringPrice(of: try plan(planID, catalog), interval: interval, for: organizationID, at: next.start, catalog: catalog)
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
            idempotencyKey: "\(type.rawValue):\(record.id):\(nanoseconds.seconds).\(nanoseconds.nanos)", actor: "tally.advance",
            payload: try payload.deterministicData())
    }

    private static func plan(_ id: String, _ catalog: ProjectionReader) throws -> Plan {
        guard let entry = try CatalogProjector.plan(id, in: catalog) else { throw EngineError.notFound("plan \(id)") }
        return entry.plan
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
