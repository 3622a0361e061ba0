public import Foundation

/// A plan change inside a billing period, prorated to the second as Stripe does: a credit
/// for the unused time at the old price, and a charge for the remaining time at the new one.
///
/// Both amounts are `price × remaining seconds ÷ period seconds`, computed exactly and
/// rounded once, each on its own, with `mode` (default `halfUp`). They are what the plan
/// change event stores, so a replay never computes them again.
public struct Proration: Sendable, Hashable, Codable {
    /// Negative: the unused part of the old price, given back.
    public let credit: Money
    /// The remaining part of the new price.
    public let charge: Money
    /// Seconds from the change to the period's end.
    public let remainingSeconds: Int64
    /// Seconds in the whole period.
    public let periodSeconds: Int64

    /// - Throws: `BillingError` when the change is outside the period or the currencies differ.
    public init(
        oldPrice: Money, newPrice: Money, period: BillingPeriod, changedAt: Date, _ mode: RoundingMode = .halfUp
    ) throws(BillingError) {
        guard period.contains(changedAt) else {
            throw .invalid(
                field: "changed_at",
                rule: "must lie inside the billing period \(period), got \(changedAt.formatted(.iso8601))")
        }
        guard oldPrice.currency == newPrice.currency else {
            throw .currencyMismatch(oldPrice.currency.code, newPrice.currency.code)
        }
        periodSeconds = period.seconds
        remainingSeconds = BillingPeriod.wholeSeconds(from: changedAt, to: period.end)
        credit = try oldPrice.scaled(by: remainingSeconds, over: periodSeconds, mode).negated
        charge = try newPrice.scaled(by: remainingSeconds, over: periodSeconds, mode)
    }

    /// What the customer owes for the change: charge plus (negative) credit.
    public var net: Money { try! charge.adding(credit) }
}
