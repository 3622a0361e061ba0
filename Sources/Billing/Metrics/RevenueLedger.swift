/// One currency's recurring revenue over time, from the `mrr` read model's daily movement
/// totals and its customer histories: MRR and customers at any day, movements per day or
/// month, and the monthly rates (docs/METRICS.md). Pure arithmetic on integers.
public struct RevenueLedger: Sendable {
    /// A span of days (inclusive) with MRR and paying customers before and after it.
    public struct Interval: Sendable, Hashable {
        public var firstDay: Int32
        public var lastDay: Int32
        public var startingMRR: Int64
        public var startingCustomers: Int64
        public var movements: MovementTotals

        public var endingMRR: Int64 { startingMRR + movements.net }
        public var endingCustomers: Int64 { startingCustomers + movements.netCustomers }
    }

    public let currency: Currency
    /// Days with movements, in order.
    private let days: [(day: Int32, totals: MovementTotals)]
    private let histories: [CustomerHistory]

    /// `histories` may hold other currencies' customers too: only this currency's count.
    public init(currency: Currency, daily: [Int32: MovementTotals], histories: [CustomerHistory]) {
        self.currency = currency
        days = daily.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        self.histories = histories.filter { $0.currency == currency.code }
    }

    /// One organization's recurring revenue alone, from its history.
    public init(currency: Currency, history: CustomerHistory) {
        var daily: [Int32: MovementTotals] = [:]
        for dated in history.movements { daily[dated.day, default: MovementTotals()].add(dated.movement) }
        self.init(currency: currency, daily: daily, histories: [history])
    }

    /// The spans from `firstDay` through `lastDay`, one per day or per calendar month (the
    /// first and last months cut to the range).
    public func intervals(from firstDay: Int32, through lastDay: Int32, monthly: Bool) -> [Interval] {
        guard firstDay <= lastDay else { return [] }
        var spans: [Interval] = []
        var start = firstDay
        while start <= lastDay {
            let end = monthly ? min(CalendarMonth(containing: start).lastDay, lastDay) : start
            spans.append(
                Interval(
                    firstDay: start, lastDay: end, startingMRR: 0, startingCustomers: 0, movements: MovementTotals()))
            start = end + 1
        }
        var cursor = 0
        var mrr: Int64 = 0
        var customers: Int64 = 0
        func take() {
            mrr += days[cursor].totals.net
            customers += days[cursor].totals.netCustomers
            cursor += 1
        }
        for index in spans.indices {
            while cursor < days.count, days[cursor].day < spans[index].firstDay { take() }
            (spans[index].startingMRR, spans[index].startingCustomers) = (mrr, customers)
            while cursor < days.count, days[cursor].day <= spans[index].lastDay {
                spans[index].movements.add(days[cursor].totals)
                take()
            }
        }
        return spans
    }

    /// MRR and paying customers at the end of `day`.
    public func standing(atEndOf day: Int32) -> (mrr: Int64, customers: Int64) {
        let span = intervals(from: day, through: day, monthly: false)[0]
        return (span.endingMRR, span.endingCustomers)
    }

    /// The month's rates; `retained` counts only customers who were paying when it began.
    public func metrics(for month: CalendarMonth) -> MonthlyMetrics {
        let span = intervals(from: month.firstDay, through: month.lastDay, monthly: true)[0]
        let retained = histories.reduce(Int64(0)) { total, history in
            history.mrr(atEndOfDay: month.firstDay - 1) > 0 ? total + history.mrr(atEndOfDay: month.lastDay) : total
        }
        return MonthlyMetrics(month: month, currency: currency, interval: span, retainedMRR: retained)
    }
}
