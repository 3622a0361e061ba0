import EventLog
import Foundation
import LMDB
@_exported import TallyTestSupport

/// The registry and drafts every EventLog test uses.
enum TestLogs {
    static let registry = EventTypeRegistry(["test.usage": 1, "test.plan": 2])

    static func options(mapSize: Int = 1 << 24, maxMapSize: Int = 1 << 40) -> EventLogOptions {
        var options = EventLogOptions(registry: registry)
        options.environment.mapSize = mapSize
        options.environment.maxMapSize = maxMapSize
        return options
    }

    static func open(_ directory: String, options: EventLogOptions = options()) throws -> EventLog {
        try EventLog(directory: directory, options: options)
    }

    /// A realistic usage event of about 150 bytes on disk.
    static func usage(
        organization: String = "org_acme", key: String? = nil, quantity: Int = 1,
        at date: Date = Date(timeIntervalSince1970: 1_760_000_000)
    ) -> EventDraft {
        EventDraft(
            organizationID: organization, eventType: "test.usage", occurredAt: date,
            idempotencyKey: key, actor: "api-key:live_42",
            payload: Data("metric=api_calls;quantity=\(quantity);user=u-17;resource=dash-3".utf8))
    }
}

/// Runs the same child-process probe the crash and multi-process tests use.
enum Probe {
    /// The probe binary, built beside the test bundle.
    static var executable: URL { BuiltProducts.executable("TallyTestProbe") }

    /// The payload the probe writes for `key`.
    static func payload(for key: String) -> Data {
        Data(String(repeating: "usage:\(key);", count: 4).utf8)
    }
}
