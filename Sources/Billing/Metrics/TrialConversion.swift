/// Trial-to-paid conversion by the month trials started.
public struct TrialConversion: Sendable, Hashable {
    public struct Cohort: Sendable, Hashable {
        public var month: CalendarMonth
        public var started: Int64 = 0
        public var converted: Int64 = 0
        public var expired: Int64 = 0
        public var canceled: Int64 = 0
        public var stillTrialing: Int64 = 0

        /// Converted ÷ trials that have ended (a trial still running has not decided yet).
        public var conversionRate: Rate { Rate(converted, over: started - stillTrialing) }
    }

    public let cohorts: [Cohort]

    public init(histories: [CustomerHistory]) {
        var byMonth: [CalendarMonth: Cohort] = [:]
        for trial in histories.flatMap(\.trials) {
            let month = CalendarMonth(containing: trial.startDay)
            var cohort = byMonth[month] ?? Cohort(month: month)
            cohort.started += 1
            switch trial.outcome {
            case .trialing: cohort.stillTrialing += 1
            case .converted: cohort.converted += 1
            case .expired: cohort.expired += 1
            case .canceled: cohort.canceled += 1
            }
            byMonth[month] = cohort
        }
        cohorts = byMonth.values.sorted { $0.month < $1.month }
    }
}
