public import Billing
public import BillingEvents
import EventLog
public import Foundation
import Projections
public import ReadModels

/// Where in history a view of the read models stands.
public enum AsOf: Sendable, Hashable {
    /// The log as it stood after event `n`.
    case sequence(UInt64)
    /// The business as it stood at this moment: the events that occurred at or before it,
    /// late arrivals included, as far as the log knows now.
    case occurredAt(Date)
}

/// The engine's queries over one set of read models: the live ones (`Engine`'s own queries
/// use this), or a snapshot as of an earlier point, built apart from the live ones.
///
/// ```swift
/// let march = try engine.view(asOf: .occurredAt(march1))
/// let then = try march.subscription(of: "org_42")
/// ```
public struct ReadModelView: Sendable {
    let projections: ProjectionSet
    /// Keeps a snapshot's scratch files alive as long as the view.
    let snapshot: ProjectionSnapshot?
    let clock: @Sendable () -> Date

    public func organization(_ id: String) throws -> Organization? {
        try projections.read(CatalogProjector.name) { try CatalogProjector.organization(id, in: $0) }
    }

    /// Every organization, by id.
    public func organizations() throws -> [Organization] {
        try projections.read(CatalogProjector.name) { try CatalogProjector.organizations(in: $0) }
    }

    public func contract(of organizationID: String) throws -> CustomPricing? {
        try projections.read(CatalogProjector.name) { try CatalogProjector.contract(of: organizationID, in: $0) }
    }

    public func plan(_ id: String) throws -> CatalogPlan? {
        try projections.read(CatalogProjector.name) { try CatalogProjector.plan(id, in: $0) }
    }

    /// Every plan in the catalog, archived ones included, by id.
    public func plans() throws -> [CatalogPlan] {
        try projections.read(CatalogProjector.name) { try CatalogProjector.plans(in: $0) }
    }

    /// The organization's current (or last) subscription.
    public func subscription(of organizationID: String) throws -> SubscriptionRecord? {
        try projections.read(SubscriptionsProjector.name) {
            try SubscriptionsProjector.current(of: organizationID, in: $0)
        }
    }

    /// Every organization's current (or last) subscription, by organization id.
    public func subscriptions() throws -> [SubscriptionRecord] {
        try projections.read(SubscriptionsProjector.name) { try SubscriptionsProjector.all(in: $0) }
    }

    /// An organization's invoices, oldest first.
    public func invoices(of organizationID: String) throws -> [Tally_V1_InvoiceIssued] {
        try projections.read(InvoicesProjector.name) { try InvoicesProjector.invoices(of: organizationID, in: $0) }
    }

    /// The invoice numbered `id` ("2026-000042"), if there is one.
    public func invoice(_ id: String) throws -> Tally_V1_InvoiceIssued? {
        guard let (series, number) = InvoicesProjector.parse(id) else { return nil }
        return try projections.read(InvoicesProjector.name) {
            try InvoicesProjector.invoice(series: series, number: number, in: $0)
        }
    }

    /// The organization invoice `id` was issued to.
    public func organization(ofInvoice id: String) throws -> String? {
        guard let (series, number) = InvoicesProjector.parse(id) else { return nil }
        return try projections.read(InvoicesProjector.name) {
            try InvoicesProjector.organization(series: series, number: number, in: $0)
        }
    }

    /// An organization's draft invoices: closed periods still waiting for late usage, each
    /// with a preview of the invoice as it stood when drafted.
    public func drafts(of organizationID: String) throws -> [Tally_V1_InvoiceDrafted] {
        try projections.read(InvoicesProjector.name) { try InvoicesProjector.drafts(of: organizationID, in: $0) }
    }

    /// Where invoice `id` stands: state, amount still due, credits, refunds, attempts.
    public func invoiceStatus(_ id: String) throws -> InvoiceStatus? {
        try projections.read(InvoicesProjector.name) { try InvoicesProjector.status(of: id, in: $0) }
    }

    /// The credit notes of invoice `id`, in number order.
    public func creditNotes(of id: String) throws -> [Tally_V1_CreditNoteIssued] {
        try projections.read(InvoicesProjector.name) { try InvoicesProjector.creditNotes(of: id, in: $0) }
    }

    /// Revenue recognized on the UTC days `from` through `to`, per currency (minor units): each
    /// invoice line spread ratably over its service period.
    public func recognizedRevenue(from: Date, to: Date) throws -> [String: Int64] {
        guard from <= to else { throw EngineError.invalid(field: "from", rule: "must not be after to") }
        return try projections.read(RevenueProjector.name) {
            try RevenueProjector.recognized(fromDay: UTCDay.number(of: from), toDay: UTCDay.number(of: to), in: $0)
        }
    }

    /// The deferred-revenue balance at the end of the UTC day holding `date`, per currency:
    /// invoiced so far minus recognized so far. Invoices bill periods in arrears, so it is zero
    /// unless an invoice covers service after `date`.
    public func deferredRevenue(at date: Date) throws -> [String: Int64] {
        let day = UTCDay.number(of: date)
        return try projections.read(RevenueProjector.name) { reader in
            let invoiced = try RevenueProjector.invoiced(fromDay: .min, toDay: day, in: reader)
            let recognized = try RevenueProjector.recognized(fromDay: .min, toDay: day, in: reader)
            return invoiced.merging(recognized.mapValues { -$0 }, uniquingKeysWith: +)
        }
    }

    /// Where `organizationID` stands on `metric` in the period holding `date` (now, if nil).
    public func quota(for organizationID: String, metric: String, at date: Date? = nil) throws -> QuotaStatus {
        let date = date ?? clock()
        return try projections.environment.read { txn in
            try QuotaContext(organizationID, metric: metric, at: date, projections: projections, txn: txn).status
        }
    }

    /// Usage of an organization on the UTC days from `from` through `to`, per metric (or only
    /// `metric`), broken down per day, user or resource.
    public func usage(
        of organizationID: String, metric: String? = nil, from: Date, to: Date,
        by breakdown: UsageRollupsProjector.Breakdown = .day
    ) throws -> [UsageRollupsProjector.Row] {
        guard from <= to else { throw EngineError.invalid(field: "from", rule: "must not be after to") }
        return try projections.read(UsageRollupsProjector.name) {
            try UsageRollupsProjector.rows(
                organizationID, metric: metric, fromDay: UTCDay.number(of: from), toDay: UTCDay.number(of: to),
                by: breakdown, in: $0)
        }
    }
}

extension Engine {
    /// The live read models.
    public var live: ReadModelView { ReadModelView(projections: projections, snapshot: nil, clock: clock) }

    /// The read models as of `point`, folded apart from the live ones (the live ones when nil).
    public func view(asOf point: AsOf?) throws -> ReadModelView {
        guard let point else { return live }
        let projectors = Engine.projectors()
        let snapshot: ProjectionSnapshot
        switch point {
        case .sequence(let sequence): snapshot = try ProjectionSnapshot(of: log, asOf: sequence, projectors: projectors)
        case .occurredAt(let date):
            snapshot = try ProjectionSnapshot(of: log, occurredAtOrBefore: date, projectors: projectors)
        }
        return ReadModelView(projections: snapshot.projections, snapshot: snapshot, clock: clock)
    }
}
