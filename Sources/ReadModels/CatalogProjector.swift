public import Billing
import BillingEvents
public import EventLog
public import LMDB
public import Projections
import SwiftProtobuf

/// The catalog read model: every organization and every plan, as their latest events left
/// them. Values are protobuf payloads (deterministic: no map fields), so a rebuild writes
/// the same bytes.
///
/// | database | key | value |
/// | --- | --- | --- |
/// | `organizations` | organization id | `OrganizationRegistered` with later updates merged in |
/// | `plans` | plan id | 1 byte (1 = archived), then `PlanSpec` |
/// | `contracts` | organization id | the latest `CustomPricingAgreed` (it replaces earlier ones) |
public struct CatalogProjector: Projector {
    public static let name = "catalog"
    public var name: String { Self.name }
    public let version: UInt32 = 2
    public let eventTypes: Set<String> = Set(
        [
            BillingEventType.organizationRegistered, .organizationUpdated, .planDefined, .planUpdated, .planArchived,
            .customPricingAgreed,
        ].map(\.rawValue))
    public let databases: [String: DatabaseOptions] = ["organizations": [], "plans": [], "contracts": []]

    public init() {}

    public func apply(_ event: StoredEvent, to store: ProjectionStore) throws {
        let txn = store
        switch BillingEventType(rawValue: event.eventType) {
        case .organizationRegistered:
            let registered = try Tally_V1_OrganizationRegistered(serializedBytes: event.payload)
            try txn.put(
                try registered.serializedBytes() as [UInt8], forKey: Array(event.organizationID.utf8),
                in: store.database("organizations"))
        case .organizationUpdated:
            let update = try Tally_V1_OrganizationUpdated(serializedBytes: event.payload)
            let key = Array(event.organizationID.utf8)
            guard let stored = try txn.value(forKey: key, in: store.database("organizations")) else { return }
            var organization = try Tally_V1_OrganizationRegistered(serializedBytes: stored)
            if update.hasName { organization.name = update.name }
            if update.hasBillingEmail { organization.billingEmail = update.billingEmail }
            if update.hasCountry { organization.country = update.country }
            if update.hasTaxID { organization.taxID = update.taxID }
            if update.hasPaymentMethod { organization.paymentMethod = update.paymentMethod }
            try txn.put(try organization.serializedBytes() as [UInt8], forKey: key, in: store.database("organizations"))
        case .planDefined, .planUpdated:
            let spec =
                event.eventType == BillingEventType.planDefined.rawValue
                ? try Tally_V1_PlanDefined(serializedBytes: event.payload).plan
                : try Tally_V1_PlanUpdated(serializedBytes: event.payload).plan
            try txn.put(
                [0] + (try spec.serializedBytes() as [UInt8]), forKey: Array(spec.planID.utf8),
                in: store.database("plans"))
        case .planArchived:
            let archived = try Tally_V1_PlanArchived(serializedBytes: event.payload)
            let key = Array(archived.planID.utf8)
            guard var record = try txn.value(forKey: key, in: store.database("plans")), !record.isEmpty else { return }
            record[0] = 1
            try txn.put(record, forKey: key, in: store.database("plans"))
        case .customPricingAgreed:
            try txn.put(Array(event.payload), forKey: Array(event.organizationID.utf8), in: store.database("contracts"))
        default:
            return
        }
    }

    // MARK: Queries, through any transaction

    public static func organization(_ id: String, in reader: ProjectionReader) throws -> Organization? {
        try reader.transaction.value(forKey: Array(id.utf8), in: reader.database("organizations"))
            .map { Organization(id: id, registration: try Tally_V1_OrganizationRegistered(serializedBytes: $0)) }
    }

    /// Every organization, by id.
    public static func organizations(in reader: ProjectionReader) throws -> [Organization] {
        var organizations: [Organization] = []
        try reader.transaction.withCursor(on: reader.database("organizations")) { cursor in
            var entry = try cursor.first()
            while let current = entry {
                organizations.append(
                    Organization(
                        id: String(decoding: current.key, as: UTF8.self),
                        registration: try Tally_V1_OrganizationRegistered(serializedBytes: Array(current.value))))
                entry = try cursor.next()
            }
        }
        return organizations
    }

    public static func plan(_ id: String, in reader: ProjectionReader) throws -> CatalogPlan? {
        try Array(id.utf8).withUnsafeBytes { key in
            try reader.transaction.withValue(forKey: key, in: reader.database("plans")) { bytes in
                try bytes.map { bytes in try planCache.value(for: bytes) { try CatalogPlan(record: Array($0)) } }
            }
        }
    }

    /// The organization's enterprise contract, if it has one (in effect or not).
    public static func contract(of organizationID: String, in reader: ProjectionReader) throws -> CustomPricing? {
        try Array(organizationID.utf8).withUnsafeBytes { key in
            try reader.transaction.withValue(forKey: key, in: reader.database("contracts")) { bytes in
                try bytes.map { bytes in
                    try contractCache.value(for: bytes) {
                        try Tally_V1_CustomPricingAgreed(serializedBytes: Array($0)).decoded(
                            organizationID: organizationID)
                    }
                }
            }
        }
    }

    private static let contractCache = DecodeCache<CustomPricing>()

    /// Decoding and validating a plan is costly; plans change rarely and are read on every check.
    private static let planCache = DecodeCache<CatalogPlan>()

    public static func plans(in reader: ProjectionReader) throws -> [CatalogPlan] {
        var plans: [CatalogPlan] = []
        try reader.transaction.withCursor(on: reader.database("plans")) { cursor in
            var entry = try cursor.first()
            while let current = entry {
                plans.append(try CatalogPlan(record: Array(current.value)))
                entry = try cursor.next()
            }
        }
        return plans
    }
}

/// An organization as the catalog knows it.
public struct Organization: Sendable, Hashable {
    public var id: String
    public var name: String
    public var billingEmail: String
    public var country: String
    public var taxID: String
    public var currency: String
    /// The payment method on file; empty when none.
    public var paymentMethod: String

    init(id: String, registration: Tally_V1_OrganizationRegistered) {
        self.id = id
        name = registration.name
        billingEmail = registration.billingEmail
        country = registration.country
        taxID = registration.taxID
        currency = registration.currency
        paymentMethod = registration.paymentMethod
    }
}

/// A plan in the catalog, and whether it still takes new subscriptions.
public struct CatalogPlan: Sendable, Hashable {
    public var plan: Plan
    public var isArchived: Bool

    init(record: [UInt8]) throws {
        guard let flag = record.first else {
            throw BillingError.invalid(field: "catalog.plans", rule: "an empty record")
        }
        isArchived = flag == 1
        plan = try Tally_V1_PlanSpec(serializedBytes: Array(record.dropFirst())).decoded()
    }
}
