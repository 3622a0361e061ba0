public import Foundation

/// Anniversary billing: periods of `interval` months from `anchor`, in UTC.
///
/// Period `n` starts `n × interval` calendar months after the anchor, always counted from the
/// anchor and clamped to the month's last day. So an anchor on January 31 gives periods
/// starting February 28 (29 in a leap year), March 31, April 30: a short month never drags
/// later periods earlier. The time of day of the anchor is kept.
///
/// ```swift
/// let schedule = try BillingSchedule(anchor: jan31, interval: .monthly)
/// schedule.period(containing: feb15)   // Jan 31 … Feb 28 (or 29)
/// ```
public struct BillingSchedule: Sendable, Hashable, Codable {
    public let anchor: Date
    public let interval: BillingInterval

    public init(anchor: Date, interval: BillingInterval) throws(BillingError) {
        try interval.validate()
        self.anchor = anchor
        self.interval = interval
    }

    /// The start of period `number` (0 is the one starting at the anchor; negative numbers
    /// are periods before it).
    public func start(ofPeriod number: Int) -> Date {
        Self.calendar.date(byAdding: .month, value: number * interval.months, to: anchor)!
    }

    public func period(_ number: Int) -> BillingPeriod {
        try! BillingPeriod(start: start(ofPeriod: number), end: start(ofPeriod: number + 1))
    }

    /// The number of the period holding `date` (a period's end belongs to the next one).
    public func periodNumber(containing date: Date) -> Int {
        let components = Self.calendar.dateComponents([.month], from: anchor, to: date)
        var number = Int((Double(components.month ?? 0) / Double(interval.months)).rounded(.down))
        // The month difference can be off by one around clamped month ends: settle it exactly.
        while start(ofPeriod: number) > date { number -= 1 }
        while start(ofPeriod: number + 1) <= date { number += 1 }
        return number
    }

    public func period(containing date: Date) -> BillingPeriod {
        period(periodNumber(containing: date))
    }

    static var calendar: Calendar { .utcGregorian }
}

extension Calendar {
    /// The Gregorian calendar in UTC: billing dates never depend on the server's time zone.
    public static let utcGregorian: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }()
}
