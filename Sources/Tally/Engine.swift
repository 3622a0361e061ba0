public import Billing
import BillingEvents
package import EventLog
public import Foundation
public import LMDB
public import Logging
public import Payments
package import Projections
public import ReadModels
import SwiftProtobuf
import Synchronization

/// Tally's public engine: commands are validated against the read models inside the append
/// transaction, turned into events and appended with their projection updates in one commit;
/// queries read the committed read models.
///
/// ```swift
/// let engine = try Engine(directory: "./tally-data")
/// try await engine.initializeDefaultPlans()
/// try await engine.register(OrganizationRegistration(id: "org_42", name: "Acme", billingEmail: "billing@acme.test",
///                                                    country: "DE", currency: .eur), at: .now)
/// let professional = try engine.plan("professional")
/// ```
public final class Engine: Sendable {
    package let log: EventLog
    package let projections: ProjectionSet
    let clock: @Sendable () -> Date
    /// The seller's tax rates; nil: invoices carry no tax.
    public let taxTable: TaxTable?
    /// Late-usage grace and dunning.
    public let policy: BillingPolicy
    /// Where `advance(to:)` collects finalized invoices and retries failed payments; nil:
    /// nothing is collected automatically (a service calls `collectPayment` itself).
    public let gateway: (any PaymentGateway)?
    /// The subscriptions and plans usage decisions read, kept while they hold.
    let usageTerms = UsageTermsCache()

    /// Opens (or creates) the engine's log in `directory`, with its read models attached and
    /// brought up to date.
    public init(
        directory: String, environment: EnvironmentOptions = .init(), taxTable: TaxTable? = nil,
        policy: BillingPolicy = .default,
        gateway: (any PaymentGateway)? = nil, clock: @escaping @Sendable () -> Date = { Date() },
        logger: Logger = Logger(label: "tally.engine")
    ) throws {
        try policy.validate()
        self.policy = policy
        self.gateway = gateway
        let opened = try Environment.open(at: directory, options: environment)
        projections = try ProjectionSet(environment: opened, projectors: Self.projectors())
        var options = EventLogOptions(registry: BillingEventType.registry, environment: environment)
        options.observer = projections
        options.clock = clock
        log = try EventLog(directory: directory, options: options, logger: logger)
        self.clock = clock
        self.taxTable = taxTable
        try projections.synchronize()
    }

    /// Fresh instances of every read model the engine keeps.
    static func projectors() -> [any Projector] {
        [
            CatalogProjector(), SubscriptionsProjector(), QuotasProjector(), UsageRollupsProjector(),
            InvoicesProjector(), RevenueProjector(), MRRProjector(),
        ]
    }

    // MARK: Plans

    /// Adds `plan` to the catalog. Defining the same plan again is a harmless retry; defining
    /// another plan under an existing id is a conflict.
    public func definePlan(_ plan: Plan, at date: Date) async throws {
        do { try plan.validate() } catch {
            throw EngineError.invalid(field: Self.field(of: error), rule: Self.rule(of: error))
        }
        let projections = projections
        let draft = try Self.planDefinedDraft(plan, at: date)
        _ = try await log.append { decision in
            let catalog = try projections.reader(CatalogProjector.name, in: decision.transaction)
            if let existing = try CatalogProjector.plan(plan.id, in: catalog), existing.plan != plan {
                throw EngineError.conflict("plan \(plan.id) is already defined with other terms")
            }
            return [draft]
        }
    }

    /// Defines the default Free, Professional and Enterprise plans that are not yet in the
    /// catalog; returns the ids it defined. A second call defines nothing.
    @discardableResult
    public func initializeDefaultPlans(currency: Currency = .usd, at date: Date) async throws -> [String] {
        let defaults = try Plan.defaults(currency: currency)
        let drafts = try defaults.map { try Self.planDefinedDraft($0, at: date) }
        let projections = projections
        // Set by the decision: the last run is the one that committed (a retry after map growth reruns it).
        let decided = Mutex<[String]>([])
        let receipts = try await log.append { decision in
            let catalog = try projections.reader(CatalogProjector.name, in: decision.transaction)
            let missing = try zip(defaults, drafts).filter { try CatalogProjector.plan($0.0.id, in: catalog) == nil }
            decided.withLock { $0 = missing.map(\.0.id) }
            return missing.map(\.1)
        }
        return zip(decided.withLock { $0 }, receipts).filter { !$0.1.isDuplicate }.map(\.0)
    }

    /// Stops `id` taking new subscriptions; existing ones continue.
    public func archivePlan(_ id: String, at date: Date) async throws {
        let projections = projections
        var payload = Tally_V1_PlanArchived()
        payload.planID = id
        let draft = EventDraft(
            organizationID: BillingEventType.systemOrganizationID, eventType: BillingEventType.planArchived.rawValue,
            occurredAt: date,
            idempotencyKey: "plan.archived:\(id)", payload: try payload.deterministicData())
        _ = try await log.append { decision in
            let catalog = try projections.reader(CatalogProjector.name, in: decision.transaction)
            guard let existing = try CatalogProjector.plan(id, in: catalog) else {
                throw EngineError.notFound("plan \(id)")
            }
            guard !existing.isArchived else { throw EngineError.conflict("plan \(id) is already archived") }
            return [draft]
        }
    }

    public func plan(_ id: String) throws -> CatalogPlan? { try live.plan(id) }

    /// Every plan in the catalog, archived ones included, by id.
    public func plans() throws -> [CatalogPlan] { try live.plans() }

    // MARK: Subscriptions

    /// Subscribes an organization to a plan: in trial when the plan has trial days, else active
    /// with its first period starting at `date`. An organization has one live subscription at a
    /// time. With an `idempotencyKey`, a retry of the same subscribe returns the subscription it
    /// created instead of a conflict.
    @discardableResult
    public func subscribe(
        _ organizationID: String, to planID: String, interval: BillingInterval, at date: Date,
        idempotencyKey: String? = nil
    ) async throws -> SubscriptionRecord {
        let projections = projections
        _ = try await log.append { decision in
            let catalog = try projections.reader(CatalogProjector.name, in: decision.transaction)
            guard let organization = try CatalogProjector.organization(organizationID, in: catalog) else {
                throw EngineError.notFound("organization \(organizationID)")
            }
            guard let entry = try CatalogProjector.plan(planID, in: catalog) else {
                throw EngineError.notFound("plan \(planID)")
            }
            guard !entry.isArchived else {
                throw EngineError.conflict("plan \(planID) is archived and takes no new subscriptions")
            }
            let plan = entry.plan
            guard plan.currency.code == organization.currency else {
                throw EngineError.invalid(
                    field: "plan_id",
                    rule:
                        "plan \(planID) is priced in \(plan.currency), but \(organizationID) is billed in \(organization.currency)"
                )
            }
            let price = try Self.recurringPrice(
                of: plan, interval: interval, for: organizationID, at: date, catalog: catalog)
            let subscriptions = try projections.reader(SubscriptionsProjector.name, in: decision.transaction)
            if let existing = try SubscriptionsProjector.current(of: organizationID, in: subscriptions),
                existing.subscription.status.isLive
            {
                if let idempotencyKey, existing.createdByKey == idempotencyKey { return [] }
                throw EngineError.conflict(
                    "organization \(organizationID) already has a live subscription (\(existing.id), \(existing.subscription.status.name))"
                )
            }
            let subscriptionID = "sub_\((decision.head?.sequence ?? 0) + 1)"
            let intervalPayload = Tally_V1_Interval(interval)
            let payload: any SwiftProtobuf.Message
            let type: BillingEventType
            if plan.trialDays > 0 {
                type = .trialStarted
                payload = Tally_V1_TrialStarted.with {
                    $0.subscriptionID = subscriptionID
                    $0.planID = planID
                    $0.interval = intervalPayload
                    $0.trialEndsAt = Google_Protobuf_Timestamp(
                        date: date.addingTimeInterval(TimeInterval(plan.trialDays) * 86_400))
                }
            } else {
                type = .subscriptionActivated
                let firstPeriod = try BillingSchedule(anchor: date, interval: interval).period(0)
                payload = Tally_V1_SubscriptionActivated.with {
                    $0.subscriptionID = subscriptionID
                    $0.planID = planID
                    $0.interval = intervalPayload
                    $0.periodStart = Google_Protobuf_Timestamp(date: firstPeriod.start)
                    $0.periodEnd = Google_Protobuf_Timestamp(date: firstPeriod.end)
                    $0.recurringPrice = Tally_V1_Money(price)
                }
            }
            return [
                EventDraft(
                    organizationID: organizationID, eventType: type.rawValue, occurredAt: date,
                    idempotencyKey: idempotencyKey, payload: try payload.deterministicData())
            ]
        }
        return try existingSubscription(of: organizationID)
    }

    /// The subscription a command just changed; it exists, or the command would have failed.
    func existingSubscription(of organizationID: String) throws -> SubscriptionRecord {
        guard let record = try subscription(of: organizationID) else {
            throw EngineError.notFound("subscription of \(organizationID)")
        }
        return record
    }

    /// Every organization's current (or last) subscription, by organization id.
    public func subscriptions() throws -> [SubscriptionRecord] { try live.subscriptions() }

    /// The organization's current (or last) subscription.
    public func subscription(of organizationID: String) throws -> SubscriptionRecord? {
        try live.subscription(of: organizationID)
    }

    // MARK: Helpers

    static func planDefinedDraft(_ plan: Plan, at date: Date) throws -> EventDraft {
        var payload = Tally_V1_PlanDefined()
        payload.plan = Tally_V1_PlanSpec(plan)
        return EventDraft(
            organizationID: BillingEventType.systemOrganizationID, eventType: BillingEventType.planDefined.rawValue,
            occurredAt: date,
            idempotencyKey: "plan.defined:\(plan.id)", payload: try payload.deterministicData())
    }

    static func field(of error: BillingError) -> String {
        if case .invalid(let field, _) = error { return field }
        return "plan"
    }

    static func rule(of error: BillingError) -> String {
        if case .invalid(_, let rule) = error { return rule }
        return error.description
    }
}
