/// A metered quantity and how its usage events combine over a period.
public struct Metric: Sendable, Hashable, Codable, CustomStringConvertible {
    /// How usage events of a metric combine into one quantity for a period.
    public enum Aggregation: Sendable, Hashable, Codable {
        /// The sum of the events' quantities (API calls, compute seconds).
        case sum
        /// The number of events, whatever their quantities (data exports).
        case count
        /// The largest quantity seen (peak real-time connections).
        case max
        /// The number of distinct values of an event property (active users: "user").
        case uniqueCount(property: String)
        /// The quantity of the latest event by occurrence time (storage bytes, dashboards).
        case latest
    }

    /// Lowercase letters, digits and underscores, starting with a letter; at most 64.
    public let name: String
    public let aggregation: Aggregation

    public init(_ name: String, aggregation: Aggregation) throws(BillingError) {
        guard Self.isWellFormedName(name) else {
            throw .invalid(
                field: "metric", rule: "must be 1 to 64 of a-z 0-9 _ starting with a letter, got \"\(name.prefix(80))\""
            )
        }
        if case .uniqueCount(let property) = aggregation, property.isEmpty || property.utf8.count > 64 {
            throw .invalid(
                field: "metric.\(name).property", rule: "a unique count needs a property name of 1 to 64 bytes")
        }
        self.name = name
        self.aggregation = aggregation
    }

    public var description: String { name }

    public static let apiCalls = try! Metric("api_calls", aggregation: .sum)
    public static let storageBytes = try! Metric("storage_bytes", aggregation: .latest)
    public static let activeUsers = try! Metric("active_users", aggregation: .uniqueCount(property: "user"))
    public static let dashboards = try! Metric("dashboards", aggregation: .latest)
    public static let realtimeConnections = try! Metric("realtime_connections", aggregation: .max)
    public static let dataExports = try! Metric("data_exports", aggregation: .count)
    public static let computeSeconds = try! Metric("compute_seconds", aggregation: .sum)
    public static let dataPoints = try! Metric("data_points", aggregation: .sum)

    /// The metrics every deployment knows; plans may define custom ones besides.
    public static let standard: [Metric] = [
        apiCalls, storageBytes, activeUsers, dashboards, realtimeConnections, dataExports, computeSeconds, dataPoints,
    ]

    static func isWellFormedName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard (1...64).contains(bytes.count), (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(bytes[0]) else {
            return false
        }
        return bytes.allSatisfy {
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0)
                || $0 == UInt8(ascii: "_")
        }
    }
}
