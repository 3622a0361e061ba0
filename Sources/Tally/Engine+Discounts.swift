public import Billing
import BillingEvents
public import Foundation
public import ReadModels

extension Engine {
    /// Applies a recurring discount to an organization's live subscription: taken off the
    /// recurring fee of the current period and of the following ones until `discount`'s
    /// periods run out (for good when it has none), replacing any discount in force. It lowers
    /// MRR from `date` (a contraction) and raises it again when it ends (an expansion).
    /// Applying the same discount id again is a harmless retry.
    ///
    /// ```swift
    /// try await engine.applyDiscount("org_42", RecurringDiscount(id: "WELCOME20", value: .percentOff(ExactDecimal(20)), periods: 3), at: .now)
    /// ```
    @discardableResult
    public func applyDiscount(_ organizationID: String, _ discount: RecurringDiscount, at date: Date) async throws
        -> SubscriptionRecord
    {
        // An organization's currency is fixed when it registers.
        guard let organization = try organization(organizationID) else {
            throw EngineError.notFound("organization \(organizationID)")
        }
        let currency: Currency
        do { currency = try Currency(organization.currency) } catch {
            throw EngineError.invalid(field: "currency", rule: error.description)
        }
        do throws(BillingError) { try discount.validate(currency: currency) } catch {
            if case .currencyMismatch(_, let other) = error {
                throw EngineError.invalid(
                    field: "amount_off", rule: "must be in \(currency), the organization's currency, got \(other)")
            }
            throw EngineError.invalid(field: Self.field(of: error), rule: Self.rule(of: error))
        }
        return try await transition(organizationID, at: date, idempotencyKey: "discount.applied:\(discount.id)") {
            record throws(BillingError) in
            guard record.subscription.status.isLive else {
                throw .illegalTransition(action: "apply a discount to", status: record.subscription.status.name)
            }
            return (.discountApplied, Tally_V1_DiscountApplied(discount, subscriptionID: record.id))
        }
    }
}
