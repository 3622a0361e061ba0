/// A month of recurring revenue, with the rates a SaaS business is run on, each defined as
/// ChartMogul defines it (docs/METRICS.md names the alternatives).
public struct MonthlyMetrics: Sendable, Hashable {
    public let month: CalendarMonth
    public let currency: Currency
    public let interval: RevenueLedger.Interval
    /// The MRR at the month's end of the customers who were paying when it began.
    public let retainedMRR: Int64

    /// Churned customers ÷ customers at the start of the month (those who joined and left in
    /// the month count as churned). Undefined for a month that began with no customers.
    public var customerChurnRate: Rate { Rate(interval.movements.count(.churn), over: interval.startingCustomers) }

    /// (churn + contraction) ÷ MRR at the start.
    public var grossRevenueChurnRate: Rate {
        Rate(-(interval.movements.amount(.churn) + interval.movements.amount(.contraction)), over: interval.startingMRR)
    }

    /// (churn + contraction − expansion − reactivation) ÷ MRR at the start; negative when the
    /// customers already paying grew more than they shrank.
    public var netRevenueChurnRate: Rate {
        let lost = -(interval.movements.amount(.churn) + interval.movements.amount(.contraction))
        let gained = interval.movements.amount(.expansion) + interval.movements.amount(.reactivation)
        return Rate(lost - gained, over: interval.startingMRR)
    }

    /// The month-end MRR of the customers paying at its start ÷ their MRR at its start.
    public var netRevenueRetention: Rate { Rate(retainedMRR, over: interval.startingMRR) }

    /// Average revenue per account: MRR ÷ paying customers at the month's end, half up.
    public var arpa: Money? {
        guard interval.endingCustomers > 0 else { return nil }
        return Money(
            minorUnits: Int64(
                RoundingMode.halfUp.divide(Int128(interval.endingMRR), by: Int128(interval.endingCustomers))),
            currency: currency)
    }

    /// Lifetime value: ARPA ÷ customer churn rate, i.e. MRR × starting customers ÷ (ending
    /// customers × churned), half up. Nil when nobody churned (a customer would pay forever:
    /// no finite value is honest) or when there is no ARPA.
    public var lifetimeValue: Money? {
        LifetimeValue.estimate(
            mrr: interval.endingMRR, customers: interval.endingCustomers,
            churned: interval.movements.count(.churn), customerMonths: interval.startingCustomers, currency: currency)
    }
}

/// LTV = ARPA ÷ churn rate, kept exact until one final rounding.
public enum LifetimeValue {
    /// `mrr` and `customers` give ARPA; `churned` over `customerMonths` (customers at the
    /// start of each month, summed) gives the churn rate. Nil when either is undefined or zero.
    public static func estimate(mrr: Int64, customers: Int64, churned: Int64, customerMonths: Int64, currency: Currency)
        -> Money?
    {
        guard customers > 0, churned > 0, customerMonths > 0 else { return nil }
        let value = RoundingMode.halfUp.divide(
            Int128(mrr) * Int128(customerMonths), by: Int128(customers) * Int128(churned))
        return Money(minorUnits: Int64(clamping: value), currency: currency)
    }
}
