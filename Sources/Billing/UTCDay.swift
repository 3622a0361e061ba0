public import Foundation

/// Days since 1970-01-01 in UTC: how usage rollups, revenue recognition and the analytics
/// name a day, as a number that sorts and subtracts.
public enum UTCDay {
    /// The day holding the moment `seconds` after 1970-01-01T00:00:00Z, rounded down.
    public static func number(of seconds: Int64) -> Int32 {
        Int32(clamping: seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400)
    }

    /// The day holding `date`.
    public static func number(of date: Date) -> Int32 {
        number(of: Int64(date.timeIntervalSince1970.rounded(.down)))
    }

    /// The day as YYYY-MM-DD.
    public static func string(_ day: Int32) -> String {
        Date(timeIntervalSince1970: TimeInterval(day) * 86_400).formatted(.iso8601.year().month().day())
    }
}
