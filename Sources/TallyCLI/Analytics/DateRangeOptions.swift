import ArgumentParser
import Billing
import Foundation

/// `--from` and `--to` for the revenue analytics: UTC days, by default the twelve calendar
/// months up to now (or up to `--as-of`).
struct DateRangeOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "First day (YYYY-MM-DD; default: the first day of the month 11 months before --to).", valueName: "DATE"))
    var from: String?
    @Option(
        help: ArgumentHelp("Last day, included (YYYY-MM-DD; default: today, or the --as-of date).", valueName: "DATE"))
    var to: String?

    /// The first and last day numbers (days since 1970-01-01, UTC).
    func days(now: Date) throws -> (first: Int32, last: Int32) {
        let last = try to.map { UTCDay.number(of: try UsageCommand.day($0, "--to")) } ?? UTCDay.number(of: now)
        let first =
            try from.map { UTCDay.number(of: try UsageCommand.day($0, "--from")) }
            ?? CalendarMonth(containing: last).advanced(by: -11).firstDay
        guard first <= last else { throw fail("--from must not be after --to") }
        guard last - first <= 366 * 20 else { throw fail("--from and --to: at most 20 years apart") }
        return (first, last)
    }

    /// The calendar months the range touches.
    func months(now: Date) throws -> [CalendarMonth] {
        let (first, last) = try days(now: now)
        let start = CalendarMonth(containing: first)
        return (0...start.months(until: CalendarMonth(containing: last))).map { start.advanced(by: $0) }
    }

    /// "2026-03-01".
    static func text(ofDay day: Int32) -> String {
        Date(timeIntervalSince1970: TimeInterval(day) * 86_400).formatted(.iso8601.year().month().day())
    }
}
