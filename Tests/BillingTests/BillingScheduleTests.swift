import Billing
import Foundation
import Testing

@Suite("Billing periods and proration")
struct BillingScheduleTests {
    /// A UTC instant from "2025-01-31T00:00:00Z".
    static func date(_ text: String) -> Date {
        try! Date(text, strategy: .iso8601)
    }

    func starts(_ schedule: BillingSchedule, _ count: Int) -> [String] {
        (0..<count).map { schedule.start(ofPeriod: $0).formatted(.iso8601) }
    }

    @Test("an anchor on the 31st clamps to short months and comes back to the 31st")
    func monthEnd() throws {
        let schedule = try BillingSchedule(anchor: Self.date("2025-01-31T10:30:00Z"), interval: .monthly)
        #expect(
            starts(schedule, 5) == [
                "2025-01-31T10:30:00Z", "2025-02-28T10:30:00Z", "2025-03-31T10:30:00Z", "2025-04-30T10:30:00Z",
                "2025-05-31T10:30:00Z",
            ])
    }

    @Test("in a leap year, an anchor on the 31st gives February 29")
    func leapYearMonthEnd() throws {
        let schedule = try BillingSchedule(anchor: Self.date("2024-01-31T00:00:00Z"), interval: .monthly)
        #expect(starts(schedule, 3) == ["2024-01-31T00:00:00Z", "2024-02-29T00:00:00Z", "2024-03-31T00:00:00Z"])
    }

    @Test("an annual anchor on leap day falls on February 28 in common years and returns to the 29th")
    func leapDayAnniversary() throws {
        let schedule = try BillingSchedule(anchor: Self.date("2024-02-29T00:00:00Z"), interval: .annual)
        #expect(
            starts(schedule, 5) == [
                "2024-02-29T00:00:00Z", "2025-02-28T00:00:00Z", "2026-02-28T00:00:00Z", "2027-02-28T00:00:00Z",
                "2028-02-29T00:00:00Z",
            ])
    }

    @Test("quarterly and custom intervals count months from the anchor")
    func intervals() throws {
        let quarterly = try BillingSchedule(anchor: Self.date("2024-11-30T00:00:00Z"), interval: .quarterly)
        #expect(
            starts(quarterly, 4) == [
                "2024-11-30T00:00:00Z", "2025-02-28T00:00:00Z", "2025-05-30T00:00:00Z", "2025-08-30T00:00:00Z",
            ])
        let everyFive = try BillingSchedule(anchor: Self.date("2025-01-15T00:00:00Z"), interval: .everyMonths(5))
        #expect(starts(everyFive, 3) == ["2025-01-15T00:00:00Z", "2025-06-15T00:00:00Z", "2025-11-15T00:00:00Z"])
        #expect(throws: BillingError.invalid(field: "billing_interval", rule: "must be from 1 to 120 months, got 0")) {
            try BillingSchedule(anchor: Date(), interval: .everyMonths(0))
        }
    }

    @Test("a period holds its start and not its end; dates before the anchor have negative periods")
    func containing() throws {
        let schedule = try BillingSchedule(anchor: Self.date("2025-01-31T00:00:00Z"), interval: .monthly)
        #expect(schedule.periodNumber(containing: Self.date("2025-02-28T00:00:00Z")) == 1)
        #expect(schedule.periodNumber(containing: Self.date("2025-02-27T23:59:59Z")) == 0)
        #expect(schedule.periodNumber(containing: Self.date("2025-03-31T00:00:00Z")) == 2)
        #expect(schedule.periodNumber(containing: Self.date("2025-03-30T12:00:00Z")) == 1)
        #expect(schedule.periodNumber(containing: Self.date("2024-12-31T00:00:00Z")) == -1)
        let period = schedule.period(containing: Self.date("2025-02-15T00:00:00Z"))
        #expect(period.start == Self.date("2025-01-31T00:00:00Z") && period.end == Self.date("2025-02-28T00:00:00Z"))
        #expect(period.seconds == 28 * 86_400)
    }

    /// Hand-computed: a $30 → $60 upgrade at the start of January 16, in the period
    /// January 1 to February 1 (31 days = 2,678,400 s); 16 days (1,382,400 s) remain.
    /// Credit 3000 × 1382400 / 2678400 = 1548.387 → 1548 cents; charge 6000 × … = 3096.774 → 3097.
    @Test("an upgrade mid-month is prorated to the second")
    func upgradeMidMonth() throws {
        let period = try BillingPeriod(start: Self.date("2025-01-01T00:00:00Z"), end: Self.date("2025-02-01T00:00:00Z"))
        let proration = try Proration(
            oldPrice: Money("30", currency: .usd), newPrice: Money("60", currency: .usd),
            period: period, changedAt: Self.date("2025-01-16T00:00:00Z"))
        #expect(proration.remainingSeconds == 1_382_400)
        #expect(proration.periodSeconds == 2_678_400)
        #expect(proration.credit == (try Money("-15.48", currency: .usd)))
        #expect(proration.charge == (try Money("30.97", currency: .usd)))
        #expect(proration.net == (try Money("15.49", currency: .usd)))
    }

    /// Hand-computed: February 2024 has 29 days (2,505,600 s). A $29 → $58 upgrade on
    /// February 29 at 00:00 leaves 1 day (86,400 s): credit 2900/29 = 100 cents, charge 200.
    @Test("proration across the leap day")
    func leapDayProration() throws {
        let schedule = try BillingSchedule(anchor: Self.date("2024-01-01T00:00:00Z"), interval: .monthly)
        let period = schedule.period(containing: Self.date("2024-02-29T00:00:00Z"))
        #expect(period.seconds == 2_505_600)
        let proration = try Proration(
            oldPrice: Money("29", currency: .usd), newPrice: Money("58", currency: .usd),
            period: period, changedAt: Self.date("2024-02-29T00:00:00Z"))
        #expect(proration.credit == (try Money("-1.00", currency: .usd)))
        #expect(proration.charge == (try Money("2.00", currency: .usd)))
    }

    /// Hand-computed: in a 31-day period, 1 second remains: 3000 × 1 / 2678400 rounds to 0 cents,
    /// and 6000 × 1 / 2678400 too. The change is legal and costs nothing.
    @Test("an upgrade in the last second of a period")
    func lastSecond() throws {
        let period = try BillingPeriod(start: Self.date("2025-01-01T00:00:00Z"), end: Self.date("2025-02-01T00:00:00Z"))
        let proration = try Proration(
            oldPrice: Money("30", currency: .usd), newPrice: Money("60", currency: .usd),
            period: period, changedAt: Self.date("2025-01-31T23:59:59Z"))
        #expect(proration.remainingSeconds == 1)
        #expect(proration.credit.isZero && proration.charge.isZero)
        #expect(throws: BillingError.self) {
            try Proration(
                oldPrice: Money("30", currency: .usd), newPrice: Money("60", currency: .usd), period: period,
                changedAt: period.end)
        }
    }

    @Test("proration in a zero-decimal currency rounds to whole yen")
    func yen() throws {
        let period = try BillingPeriod(start: Self.date("2025-01-01T00:00:00Z"), end: Self.date("2025-02-01T00:00:00Z"))
        let proration = try Proration(
            oldPrice: Money("3000", currency: .jpy), newPrice: Money("6000", currency: .jpy),
            period: period, changedAt: Self.date("2025-01-16T00:00:00Z"))
        #expect(proration.credit == Money(minorUnits: -1548, currency: .jpy))  // 1548.387
        #expect(proration.charge == Money(minorUnits: 3097, currency: .jpy))  // 3096.774
    }
}
