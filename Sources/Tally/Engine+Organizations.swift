public import Billing
import BillingEvents
public import EventLog
public import Foundation
import Projections
public import ReadModels
import SwiftProtobuf

extension Engine {
    /// Registers a tenant. Registering the same organization again with the same details is a
    /// harmless retry (nothing appended); with other details it is a conflict.
    @discardableResult
    public func register(_ registration: OrganizationRegistration, at date: Date) async throws -> AppendReceipt {
        try registration.validate()
        var payload = Tally_V1_OrganizationRegistered()
        payload.name = registration.name
        payload.billingEmail = registration.billingEmail
        payload.country = registration.country
        payload.taxID = registration.taxID
        payload.currency = registration.currency.code
        payload.paymentMethod = registration.paymentMethod
        let draft = EventDraft(
            organizationID: registration.id, eventType: BillingEventType.organizationRegistered.rawValue,
            occurredAt: date,
            idempotencyKey: BillingEventType.organizationRegistered.rawValue, payload: try payload.deterministicData())
        let projections = projections
        return try await log.append { decision in
            let catalog = try projections.reader(CatalogProjector.name, in: decision.transaction)
            if let existing = try CatalogProjector.organization(registration.id, in: catalog),
                existing.name != registration.name || existing.billingEmail != registration.billingEmail
                    || existing.country != registration.country || existing.taxID != registration.taxID
                    || existing.currency != registration.currency.code
                    || existing.paymentMethod != registration.paymentMethod
            {
                throw EngineError.conflict("organization \(registration.id) is already registered with other details")
            }
            return [draft]  // a retry of the same registration is deduplicated by its idempotency key
        }[0]
    }

    /// Every organization, by id.
    public func organizations() throws -> [Organization] { try live.organizations() }

    public func organization(_ id: String) throws -> Organization? { try live.organization(id) }

    /// Changes an organization's details; fields left nil stay as they are. The billing
    /// currency cannot change.
    @discardableResult
    public func updateOrganization(_ id: String, _ update: OrganizationUpdate, at date: Date) async throws
        -> Organization
    {
        guard !update.isEmpty else {
            throw EngineError.invalid(field: "update", rule: "must change at least one field")
        }
        var payload = Tally_V1_OrganizationUpdated()
        if let name = update.name { payload.name = name }
        if let email = update.billingEmail { payload.billingEmail = email }
        if let country = update.country { payload.country = country }
        if let taxID = update.taxID { payload.taxID = taxID }
        if let method = update.paymentMethod { payload.paymentMethod = method }
        let payloadBytes = try payload.deterministicData()
        let projections = projections
        _ = try await log.append { decision in
            let catalog = try projections.reader(CatalogProjector.name, in: decision.transaction)
            guard let current = try CatalogProjector.organization(id, in: catalog) else {
                throw EngineError.notFound("organization \(id)")
            }
            try OrganizationRegistration.validate(
                name: update.name ?? current.name, billingEmail: update.billingEmail ?? current.billingEmail,
                country: update.country ?? current.country, taxID: update.taxID ?? current.taxID,
                paymentMethod: update.paymentMethod ?? current.paymentMethod)
            return [
                EventDraft(
                    organizationID: id, eventType: BillingEventType.organizationUpdated.rawValue, occurredAt: date,
                    payload: payloadBytes)
            ]
        }
        guard let updated = try organization(id) else { throw EngineError.notFound("organization \(id)") }
        return updated
    }

    // MARK: Enterprise contracts

    /// Records an enterprise contract for the organization: it replaces any earlier one. Its
    /// prices apply to subscriptions of its base plan from their next period (or from the
    /// subscription, when it starts under the contract).
    public func agreeCustomPricing(_ contract: CustomPricing, at date: Date) async throws {
        do throws(BillingError) { try contract.validate() } catch {
            throw EngineError.invalid(field: Self.field(of: error), rule: Self.rule(of: error))
        }
        let payload = try Tally_V1_CustomPricingAgreed(contract).deterministicData()
        let projections = projections
        _ = try await log.append { decision in
            let catalog = try projections.reader(CatalogProjector.name, in: decision.transaction)
            guard let organization = try CatalogProjector.organization(contract.organizationID, in: catalog) else {
                throw EngineError.notFound("organization \(contract.organizationID)")
            }
            guard organization.currency == contract.currency.code else {
                throw EngineError.invalid(
                    field: "currency",
                    rule:
                        "\(contract.organizationID) is billed in \(organization.currency), the contract is in \(contract.currency)"
                )
            }
            guard let base = try CatalogProjector.plan(contract.basePlanID, in: catalog) else {
                throw EngineError.notFound("plan \(contract.basePlanID)")
            }
            for metric in Set(contract.metricPrices.keys).union(contract.included.keys).sorted()
            where base.plan.metrics[metric] == nil {
                throw EngineError.invalid(
                    field: "metric_prices", rule: "plan \(contract.basePlanID) does not meter \(metric)")
            }
            if contract.recurringPrice == nil {
                do throws(BillingError) { _ = try base.plan.recurringPrice(for: contract.interval) } catch {
                    throw EngineError.invalid(
                        field: "recurring_price",
                        rule: "is required: plan \(contract.basePlanID) has no price for \(contract.interval)")
                }
            }
            return [
                EventDraft(
                    organizationID: contract.organizationID, eventType: BillingEventType.customPricingAgreed.rawValue,
                    occurredAt: date,
                    payload: payload)
            ]
        }
    }

    public func contract(of organizationID: String) throws -> CustomPricing? { try live.contract(of: organizationID) }
}
