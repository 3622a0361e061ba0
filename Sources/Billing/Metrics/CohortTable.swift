/// Retention by signup month: for the organizations that signed up in a month and paid at
/// some point, how many still pay, and how much, at the end of each later month.
public struct CohortTable: Sendable, Hashable {
    public struct Cohort: Sendable, Hashable {
        public var month: CalendarMonth
        /// Organizations that signed up this month and became paying customers.
        public var customers: Int64
        /// The sum of each customer's MRR at the end of the day it first paid: the base of
        /// revenue retention.
        public var initialMRR: Int64
        /// Per month since signup (0 is the signup month): customers paying at its end.
        public var payingCustomers: [Int64]
        /// Per month since signup: the cohort's MRR at its end.
        public var mrr: [Int64]

        public func logoRetention(_ offset: Int) -> Rate { Rate(payingCustomers[offset], over: customers) }
        public func revenueRetention(_ offset: Int) -> Rate { Rate(mrr[offset], over: initialMRR) }
    }

    public let currency: Currency
    public let cohorts: [Cohort]

    /// Cohorts of `currency`'s customers, each followed through the month holding `lastDay`.
    public init(currency: Currency, histories: [CustomerHistory], through lastDay: Int32) {
        self.currency = currency
        let last = CalendarMonth(containing: lastDay)
        var byMonth: [CalendarMonth: Cohort] = [:]
        for history in histories where history.currency == currency.code && history.hasPaid {
            guard let signup = history.signupDay ?? history.firstPaidDay, let firstPaid = history.firstPaidDay else {
                continue
            }
            let month = CalendarMonth(containing: signup)
            guard month <= last else { continue }
            let length = month.months(until: last) + 1
            var cohort =
                byMonth[month]
                ?? Cohort(
                    month: month, customers: 0, initialMRR: 0, payingCustomers: Array(repeating: 0, count: length),
                    mrr: Array(repeating: 0, count: length))
            cohort.customers += 1
            cohort.initialMRR += history.mrr(atEndOfDay: firstPaid)
            for offset in 0..<length {
                let end = min(month.advanced(by: offset).lastDay, lastDay)
                let mrr = history.mrr(atEndOfDay: end)
                if mrr > 0 { cohort.payingCustomers[offset] += 1 }
                cohort.mrr[offset] += mrr
            }
            byMonth[month] = cohort
        }
        cohorts = byMonth.values.sorted { $0.month < $1.month }
    }
}
