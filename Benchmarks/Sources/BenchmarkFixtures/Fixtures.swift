public import EventLog
import Foundation
public import LMDB
import Synchronization

/// Realistic usage events and fresh log directories for the benchmarks.
public enum Fixtures {
    public static let registry = EventTypeRegistry(["usage.recorded": 1])

    /// A fresh directory for one log or engine. All of a process's directories are removed
    /// when it exits, unless `TALLY_BENCH_KEEP` is set (to reopen one later, as
    /// `ProfileWorkloads engine-rebuild` does).
    public static func temporaryDirectory(_ label: String) -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent(
            "tally-bench-\(label)-\(UUID().uuidString)"
        ).path
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        if ProcessInfo.processInfo.environment["TALLY_BENCH_KEEP"] == nil {
            created.withLock { $0.append(path) }
            _ = removeAtExit
        }
        return path
    }

    private static let created = Mutex<[String]>([])

    /// Registered once, on first use.
    private static let removeAtExit: Void = {
        atexit { Fixtures.created.withLock { $0.forEach { try? FileManager.default.removeItem(atPath: $0) } } }
    }()

    public static func openLog(_ label: String) -> EventLog {
        var options = EventLogOptions(registry: registry)
        options.environment.mapSize = 1 << 32
        return try! EventLog(directory: temporaryDirectory(label), options: options)
    }

    /// A usage event as a metering client sends it: about 150 bytes of envelope.
    /// Idempotency keys ascend with `number`, like ULIDs or UUIDv7.
    public static func usage(_ number: Int) -> EventDraft {
        let organization = "org_\(String(number % 500, radix: 10).leftPadded(to: 5))"
        // A compact protobuf-style body: metric, quantity, user and resource.
        var payload = Data([0x0A, 9]) + Data("api_calls".utf8)
        payload += Data([0x10, UInt8(1 + number % 100)])
        payload += Data([0x1A, 10]) + Data("usr_\(String(number % 997).leftPadded(to: 6))".utf8)
        payload += Data([0x22, 12]) + Data("dash_\(String(number % 4001).leftPadded(to: 7))".utf8)
        return EventDraft(
            organizationID: organization, eventType: "usage.recorded",
            occurredAt: Date(timeIntervalSince1970: 1_764_000_000 + Double(number) / 1000),
            idempotencyKey: "evt_\(String(number, radix: 16).leftPadded(to: 16))",
            payload: payload)
    }

    /// The stored size of a usage record (hash + envelope), for same-sized raw LMDB baselines.
    public static let recordSize: Int = {
        let log = openLog("record-size")
        _ = try! log.appendSynchronously(usage(1))
        let event = try! log.event(at: 1)!
        return 32 + (try! event.envelope.serializedBytes() as [UInt8]).count
    }()

    /// A raw LMDB environment with one database, for baselines.
    public static func openRaw(_ label: String) -> (Environment, Database) {
        var options = EnvironmentOptions()
        options.mapSize = 1 << 32
        let environment = try! Environment.open(at: temporaryDirectory(label), options: options)
        return (environment, try! environment.database(named: "values"))
    }

    public static func key(_ sequence: UInt64) -> [UInt8] {
        withUnsafeBytes(of: sequence.bigEndian) { Array($0) }
    }
}

extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
