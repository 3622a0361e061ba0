import Billing
import Foundation
import Testing

@Suite("Revenue metrics: months, rates, movements, churn risk, forecasts")
struct RevenueMetricsTests {
    @Test("calendar months from day numbers agree with the UTC Gregorian calendar, leap days included")
    func calendarMonths() {
        let calendar = Calendar.utcGregorian
        for day in stride(from: Int32(-800), through: 40_000, by: 13) {
            let date = Date(timeIntervalSince1970: TimeInterval(day) * 86_400)
            let parts = calendar.dateComponents([.year, .month], from: date)
            let month = CalendarMonth(containing: day)
            #expect(month.year == parts.year && month.month == parts.month, "day \(day)")
            #expect(month.firstDay <= day && day <= month.lastDay, "day \(day)")
        }
        let february2024 = CalendarMonth(year: 2024, month: 2)
        #expect(february2024.lastDay - february2024.firstDay == 28, "29 days in a leap February")
        #expect(CalendarMonth(year: 2025, month: 1).advanced(by: -1) == CalendarMonth(year: 2024, month: 12))
        #expect(CalendarMonth(year: 2025, month: 11).advanced(by: 3).description == "2026-02")
        #expect(CalendarMonth(year: 2025, month: 3).months(until: CalendarMonth(year: 2026, month: 1)) == 10)
    }

    @Test("rates are exact ratios, shown rounded half up; a zero denominator is undefined")
    func rates() throws {
        #expect(Rate(1, over: 8).percent() == (try ExactDecimal("12.50")))
        #expect(Rate(2, over: 3).percent() == (try ExactDecimal("66.67")))
        #expect(Rate(-1, over: 6).percent() == (try ExactDecimal("-16.67")))
        #expect(Rate(1, over: 3).percent(decimals: 0) == (try ExactDecimal("33")))
        #expect(Rate(5, over: 0).percent() == nil)
    }

    @Test(
        "movements: from nothing is new business or reactivation, to nothing is churn, between is expansion or contraction"
    )
    func movements() throws {
        #expect(MRRMovement.between(0, 4_900, hasPaidBefore: false) == MRRMovement(kind: .newBusiness, amount: 4_900))
        #expect(MRRMovement.between(0, 4_900, hasPaidBefore: true) == MRRMovement(kind: .reactivation, amount: 4_900))
        #expect(MRRMovement.between(4_900, 0, hasPaidBefore: true) == MRRMovement(kind: .churn, amount: -4_900))
        #expect(MRRMovement.between(4_900, 9_900, hasPaidBefore: true)?.kind == .expansion)
        #expect(MRRMovement.between(9_900, 4_900, hasPaidBefore: true)?.kind == .contraction)
        #expect(MRRMovement.between(4_900, 4_900, hasPaidBefore: true) == nil)
        #expect(
            try MRRMovement.monthly(Money("1000", currency: .usd), every: .annual) == Money("83.33", currency: .usd))
        #expect(
            try MRRMovement.monthly(Money("1000", currency: .jpy), every: .everyMonths(6))
                == Money("167", currency: .jpy))
        #expect(
            try MRRMovement.monthly(Money("1.000", currency: .kwd), every: .quarterly) == Money("0.333", currency: .kwd)
        )
    }

    @Test("LTV is ARPA over the churn rate, exact until one rounding; undefined with no churn")
    func lifetimeValue() {
        // ARPA 180/4 = 45.00; churn 1 of 4 = 25% → 180.00.
        #expect(
            LifetimeValue.estimate(mrr: 18_000, customers: 4, churned: 1, customerMonths: 4, currency: .usd)
                == Money(minorUnits: 18_000, currency: .usd))
        // Twelve trailing months: 3 churned over 120 customer-months (2.5%), ARPA 50.00 → 2,000.00.
        #expect(
            LifetimeValue.estimate(mrr: 50_000, customers: 10, churned: 3, customerMonths: 120, currency: .usd)
                == Money(minorUnits: 200_000, currency: .usd))
        #expect(
            LifetimeValue.estimate(mrr: 50_000, customers: 10, churned: 0, customerMonths: 120, currency: .usd) == nil)
    }

    @Test("a quiet, long-standing customer scores zero; every signal at full weight scores 100")
    func churnRiskBounds() {
        var quiet = ChurnRisk.Observations()
        quiet.recentActivity = 100
        quiet.baselineActivity = 400
        quiet.recentUsers = 10
        quiet.earlierUsers = 10
        quiet.metricsUsed = 6
        quiet.metricsAvailable = 8
        quiet.tenureDays = 800
        #expect(ChurnRisk(quiet).score == 0)
        #expect(ChurnRisk.Observations().tenureDays == nil)
        #expect(ChurnRisk(ChurnRisk.Observations()).score == 5, "a customer that never paid: only the tenure signal")

        var worst = ChurnRisk.Observations()
        worst.recentActivity = 0
        worst.baselineActivity = 400
        worst.recentUsers = 1
        worst.earlierUsers = 10
        worst.inDunning = true
        worst.downgradeScheduled = true
        worst.daysUntilCancellation = 10
        worst.metricsUsed = 1
        worst.metricsAvailable = 8
        worst.tenureDays = 30
        let risk = ChurnRisk(worst)
        #expect(risk.score == 100)
        #expect(risk.signals.allSatisfy { $0.points == $0.name.weight })
        #expect(ChurnRisk.Signal.Name.allCases.reduce(0) { $0 + $1.weight } == 100)
    }

    @Test("a middling customer's score, by hand, with its signals strongest first")
    func churnRiskByHand() {
        var seen = ChurnRisk.Observations()
        seen.recentActivity = 70  // against 100 a week: −30% → (30 − 10) × 20 / 50 = 8
        seen.baselineActivity = 400
        seen.recentUsers = 8  // against 10: −20% → (20 − 10) × 15 / 40 = 3.75 → 3
        seen.earlierUsers = 10
        seen.recentFailedPayments = 1  // 8
        seen.metricsUsed = 3  // 37% adopted → 3
        seen.metricsAvailable = 8
        seen.tenureDays = 200  // 1
        let risk = ChurnRisk(seen)
        #expect(risk.score == 23)
        #expect(
            risk.signals.map(\.name) == [
                .usageDecline, .paymentFailures, .activeUsersDrop, .lowFeatureAdoption, .shortTenure, .downgrades,
                .cancellationScheduled,
            ])
        #expect(risk.signals.map(\.points) == [8, 8, 3, 3, 1, 0, 0])
        #expect(risk.signals[0].detail.contains("70 usage events in the last 7 days against 100"))
    }

    @Test("Holt's linear trend follows a straight line exactly and a flat one flat")
    func holt() throws {
        let line = try #require(HoltForecast((1...10).map { Double($0 * 10) }))
        #expect(abs(line.value(daysAhead: 1) - 110) < 1e-9)
        #expect(abs(line.value(daysAhead: 5) - 150) < 1e-9)
        let flat = try #require(HoltForecast(Array(repeating: 300, count: 28)))
        #expect(flat.value(daysAhead: 30) == 300)
        #expect(flat.error == 0)
        let falling = try #require(HoltForecast([50, 40, 30, 20, 10]))
        #expect(falling.value(daysAhead: 10) == 0, "never below zero")
        #expect(HoltForecast([7]) == nil)
    }
}
