import EventLog
import Foundation
import LMDB

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
    static var executable: URL {
        let bundleDirectory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for directory in [bundleDirectory, Bundle.main.bundleURL, Bundle.main.bundleURL.deletingLastPathComponent()] {
            let candidate = directory.appendingPathComponent("TallyTestProbe")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        fatalError("TallyTestProbe was not built next to the tests (looked in \(bundleDirectory.path))")
    }

    /// The payload the probe writes for `key`.
    static func payload(for key: String) -> Data {
        Data(String(repeating: "usage:\(key);", count: 4).utf8)
    }
}

/// A seeded generator (SplitMix64) so a failing randomized test can be replayed.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Seeds and iteration counts for the randomized and crash tests, from the environment:
/// TALLY_TEST_SEED (default: random, printed on failure) and TALLY_TEST_ITERATIONS
/// (default: the modest CI figure each test names).
enum TestEnvironment {
    static func seed() -> UInt64 {
        if let text = ProcessInfo.processInfo.environment["TALLY_TEST_SEED"], let seed = UInt64(text) { return seed }
        return UInt64.random(in: 1...UInt64.max)
    }

    static func iterations(default value: Int) -> Int {
        ProcessInfo.processInfo.environment["TALLY_TEST_ITERATIONS"].flatMap(Int.init) ?? value
    }
}
