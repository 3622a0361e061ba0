import EventLog
import TallySupport

/// What one cell of the rollups saw: the sum (corrections included), the number of events,
/// the largest single quantity and the latest one.
public struct UsageRollup: Sendable, Hashable {
    public var sum: Int64 = 0
    public var events: Int64 = 0
    public var maximum: Int64 = .min
    public var latest: Int64 = 0
    /// Nanoseconds since 1970 of `latest`.
    public var latestAt: Int64 = .min

    public init() {}

    mutating func record(_ quantity: Int64, at nanoseconds: Int64) {
        sum = sum.addingReportingOverflow(quantity).overflow ? .max : sum + quantity
        events += 1
        maximum = max(maximum, quantity)
        if nanoseconds >= latestAt {
            latest = quantity
            latestAt = nanoseconds
        }
    }

    mutating func correct(by delta: Int64) {
        sum = sum.addingReportingOverflow(delta).overflow ? (delta > 0 ? .max : .min) : sum + delta
    }

    mutating func merge(_ other: UsageRollup) {
        sum = sum.addingReportingOverflow(other.sum).overflow ? .max : sum + other.sum
        events += other.events
        maximum = max(maximum, other.maximum)
        if other.latestAt >= latestAt {
            latest = other.latest
            latestAt = other.latestAt
        }
    }

    // MARK: Stored form

    // Each usage event rewrites a cell per user and per resource, and a commit of a thousand
    // events from many tenants dirties (and writes) nearly every page those cells fill, so
    // their size is the engine's write volume: zigzag varints instead of five 8-byte integers
    // take a typical cell from 40 bytes to about 15.

    /// The most bytes a rollup takes: five varints of at most ten bytes.
    static let maximumSize = 50

    /// Zigzag varints: sum and events; then, unless nothing was ever recorded (maximum, latest
    /// and latestAt still as `init()` left them), maximum, latest, and latestAt as nanoseconds
    /// after the start of `day` (the cell's day: under 2^47 for any event of that day). The
    /// arithmetic wraps, so every value round-trips, whatever it is.
    func write(to buffer: UnsafeMutableRawBufferPointer, day: Int32) -> Int {
        var writer = InPlaceProtobufWriter(buffer)
        writer.put(zigzag: sum)
        writer.put(zigzag: events)
        if events != 0 || maximum != .min || latest != 0 || latestAt != .min {
            writer.put(zigzag: maximum)
            writer.put(zigzag: latest)
            writer.put(zigzag: latestAt &- Self.nanoseconds(atStartOf: day))
        }
        return writer.count
    }

    /// The rollup `write(to:day:)` stored for `day`, or nil if `buffer` is not one.
    init?(buffer: UnsafeRawBufferPointer, day: Int32) {
        var reader = ProtobufWireReader(buffer)
        func next() -> Int64? {
            guard let zigzag = reader.varint() else { return nil }
            return Int64(bitPattern: zigzag >> 1) ^ -Int64(bitPattern: zigzag & 1)
        }
        guard let sum = next(), let events = next() else { return nil }
        (self.sum, self.events) = (sum, events)
        if reader.isAtEnd { return }
        guard let maximum = next(), let latest = next(), let offset = next(), reader.isAtEnd else { return nil }
        (self.maximum, self.latest, self.latestAt) = (maximum, latest, offset &+ Self.nanoseconds(atStartOf: day))
    }

    private static func nanoseconds(atStartOf day: Int32) -> Int64 {
        Int64(day) &* 86_400_000_000_000
    }
}
