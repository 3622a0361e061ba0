public import EventLog
public import SwiftProtobuf

/// Every billing event type: its name in envelopes, its payload message and schema version.
/// docs/EVENTS.md describes each; a test checks that page names every one of them.
public enum BillingEventType: String, CaseIterable, Sendable {
    case organizationRegistered = "organization.registered"
    case organizationUpdated = "organization.updated"
    case planDefined = "plan.defined"
    case planUpdated = "plan.updated"
    case planArchived = "plan.archived"
    case customPricingAgreed = "custom_pricing.agreed"
    case trialStarted = "subscription.trial_started"
    case subscriptionActivated = "subscription.activated"
    case planChanged = "subscription.plan_changed"
    case subscriptionRenewed = "subscription.renewed"
    case subscriptionPastDue = "subscription.past_due"
    case gracePeriodStarted = "subscription.grace_period_started"
    case cancellationScheduled = "subscription.cancellation_scheduled"
    case subscriptionCanceled = "subscription.canceled"
    case subscriptionReactivated = "subscription.reactivated"
    case subscriptionExpired = "subscription.expired"
    case subscriptionMarkedUnpaid = "subscription.marked_unpaid"
    case subscriptionRecovered = "subscription.recovered"
    case discountApplied = "subscription.discount_applied"
    case usageRecorded = "usage.recorded"
    case usageCorrected = "usage.corrected"
    case quotaConfigured = "quota.configured"
    case quotaRemoved = "quota.removed"
    case softLimitReached = "quota.soft_limit_reached"
    case hardLimitReached = "quota.hard_limit_reached"
    case invoiceDrafted = "invoice.drafted"
    case invoiceIssued = "invoice.issued"
    case invoiceVoided = "invoice.voided"
    case invoiceMarkedUncollectible = "invoice.marked_uncollectible"
    case paymentSucceeded = "payment.succeeded"
    case paymentFailed = "payment.failed"
    case paymentRefunded = "payment.refunded"
    case creditNoteIssued = "credit_note.issued"

    /// The payload's current schema version. Versions only grow; old ones must still replay.
    public var currentVersion: UInt32 { 1 }

    /// The generated message type of the payload.
    public var payloadType: any SwiftProtobuf.Message.Type {
        switch self {
        case .organizationRegistered: Tally_V1_OrganizationRegistered.self
        case .organizationUpdated: Tally_V1_OrganizationUpdated.self
        case .planDefined: Tally_V1_PlanDefined.self
        case .planUpdated: Tally_V1_PlanUpdated.self
        case .planArchived: Tally_V1_PlanArchived.self
        case .customPricingAgreed: Tally_V1_CustomPricingAgreed.self
        case .trialStarted: Tally_V1_TrialStarted.self
        case .subscriptionActivated: Tally_V1_SubscriptionActivated.self
        case .planChanged: Tally_V1_PlanChanged.self
        case .subscriptionRenewed: Tally_V1_SubscriptionRenewed.self
        case .subscriptionPastDue: Tally_V1_SubscriptionPastDue.self
        case .gracePeriodStarted: Tally_V1_GracePeriodStarted.self
        case .cancellationScheduled: Tally_V1_CancellationScheduled.self
        case .subscriptionCanceled: Tally_V1_SubscriptionCanceled.self
        case .subscriptionReactivated: Tally_V1_SubscriptionReactivated.self
        case .subscriptionExpired: Tally_V1_SubscriptionExpired.self
        case .subscriptionMarkedUnpaid: Tally_V1_SubscriptionMarkedUnpaid.self
        case .subscriptionRecovered: Tally_V1_SubscriptionRecovered.self
        case .discountApplied: Tally_V1_DiscountApplied.self
        case .usageRecorded: Tally_V1_UsageRecorded.self
        case .usageCorrected: Tally_V1_UsageCorrected.self
        case .quotaConfigured: Tally_V1_QuotaConfigured.self
        case .quotaRemoved: Tally_V1_QuotaRemoved.self
        case .softLimitReached, .hardLimitReached: Tally_V1_LimitReached.self
        case .invoiceDrafted: Tally_V1_InvoiceDrafted.self
        case .invoiceIssued: Tally_V1_InvoiceIssued.self
        case .invoiceVoided: Tally_V1_InvoiceVoided.self
        case .invoiceMarkedUncollectible: Tally_V1_InvoiceMarkedUncollectible.self
        case .paymentSucceeded: Tally_V1_PaymentSucceeded.self
        case .paymentFailed: Tally_V1_PaymentFailed.self
        case .paymentRefunded: Tally_V1_PaymentRefunded.self
        case .creditNoteIssued: Tally_V1_CreditNoteIssued.self
        }
    }

    /// A registry accepting every billing event type, for an `EventLog`.
    public static var registry: EventTypeRegistry {
        var registry = EventTypeRegistry()
        for type in allCases { registry.register(type.rawValue, currentVersion: type.currentVersion) }
        return registry
    }

    /// The organization id that catalog-wide events (plans) are recorded under.
    public static let systemOrganizationID = "system"
}
