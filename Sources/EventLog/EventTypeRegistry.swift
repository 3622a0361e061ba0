/// The event types a log accepts, each with its current payload schema version.
///
/// The log itself knows nothing of billing: higher layers register their types. An append
/// with a type that is not registered, or a version above the registered one, is rejected.
public struct EventTypeRegistry: Sendable, Equatable {
    /// Event type name to its current (highest) schema version.
    public private(set) var currentVersions: [String: UInt32] = [:]

    public init() {}

    public init(_ types: [String: UInt32]) {
        for (name, version) in types { register(name, currentVersion: version) }
    }

    /// Registers `name`. Names are lowercase dotted words such as "usage.recorded".
    public mutating func register(_ name: String, currentVersion: UInt32 = 1) {
        precondition(
            Self.isWellFormedName(name), "event type names are lowercase dotted words such as usage.recorded: \(name)")
        precondition(currentVersion >= 1, "schema versions start at 1")
        currentVersions[name] = max(currentVersions[name] ?? 0, currentVersion)
    }

    public func currentVersion(of name: String) -> UInt32? {
        currentVersions[name]
    }

    static func isWellFormedName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard (1...64).contains(bytes.count), bytes.first != UInt8(ascii: "."), bytes.last != UInt8(ascii: ".") else {
            return false
        }
        return bytes.allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_")
        }
    }
}

extension EventTypeRegistry: ExpressibleByDictionaryLiteral {
    /// `["usage.recorded": 1, "plan.defined": 2]`: names and their current schema versions.
    public init(dictionaryLiteral elements: (String, UInt32)...) {
        self.init(Dictionary(elements, uniquingKeysWith: max))
    }
}
