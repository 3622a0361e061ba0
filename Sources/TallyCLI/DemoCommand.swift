import ArgumentParser
import EventLog
import Foundation

/// The demo, at the event-log stage: a metering burst from many concurrent clients, with
/// retried requests, then a verification. Later stages grow it into a whole SaaS history.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Append a realistic burst of usage events from many concurrent clients, then verify the log.",
        discussion: """
            Simulates metering clients: --clients tasks append usage events (API calls, storage,
            active users, dashboards...) for --organizations tenants through the library's
            group-committed async append, retrying one request in ten with the same idempotency
            key. Prints what was appended, what was deduplicated, the rate and the head, and leaves
            the log in --data for `tally verify`.

            Example:
              tally demo --data ./tally-data --events 200000
            """
    )

    @OptionGroup var storage: DataDirectoryOptions

    @Option(help: "How many distinct usage events to append.")
    var events: Int = 200_000

    @Option(help: "How many organizations the events belong to.")
    var organizations: Int = 500

    @Option(help: "How many concurrent clients append at once.")
    var clients: Int = 256

    @Option(help: "Seed for the generated history (same seed, same events).")
    var seed: UInt64 = 42

    static let metrics = ["api_calls", "storage_bytes", "active_users", "dashboards", "realtime_connections", "data_exports", "compute_seconds", "data_points"]

    func validate() throws {
        guard events > 0 else { throw ValidationError("--events must be at least 1, got \(events)") }
        guard (1...1_000_000).contains(organizations) else { throw ValidationError("--organizations must be from 1 to 1000000, got \(organizations)") }
        guard (1...10_000).contains(clients) else { throw ValidationError("--clients must be from 1 to 10000, got \(clients)") }
    }

    func run() async throws {
        var options = EventLogOptions(registry: EventTypeRegistry(["usage.recorded": 1]))
        options.environment.mapSize = 1 << 32
        let log: EventLog
        do {
            log = try EventLog(directory: storage.path, options: options)
        } catch {
            throw fail("cannot open \(storage.path): \(error)")
        }
        let startHead = try log.head()?.sequence ?? 0
        let runID = String(seed, radix: 36) + "-" + String(startHead, radix: 36)
        print("Appending \(events) usage events for \(organizations) organizations from \(clients) concurrent clients into \(log.environment.path)...")

        let clock = ContinuousClock()
        let started = clock.now
        let (appended, duplicates) = try await withThrowingTaskGroup(of: (Int, Int).self) { group in
            for client in 0..<clients {
                group.addTask {
                    var appended = 0, duplicates = 0
                    var number = client
                    while number < events {
                        let draft = usage(number, runID: runID)
                        if try await log.append(draft).isDuplicate { duplicates += 1 } else { appended += 1 }
                        if number % 10 == 3, try await log.append(draft).isDuplicate {
                            duplicates += 1  // the retry of a request whose answer was lost
                        }
                        number += clients
                    }
                    return (appended, duplicates)
                }
            }
            return try await group.reduce((0, 0)) { ($0.0 + $1.0, $0.1 + $1.1) }
        }
        let seconds = Self.seconds(clock.now - started)
        print("  appended \(appended) events, absorbed \(duplicates) retried duplicates, in \(String(format: "%.2f", seconds)) s (\(Int(Double(appended + duplicates) / seconds)) appends/s, each durable before it returned)")

        let verifyStarted = clock.now
        let report = try log.verify()
        let verifySeconds = Self.seconds(clock.now - verifyStarted)
        guard report.isIntact, let head = report.head else {
            throw fail("the log failed verification: \(report.failure.map(String.init(describing:)) ?? "empty")", code: 1)
        }
        print("  verified \(report.eventsChecked) events in \(String(format: "%.2f", verifySeconds)) s: the hash chain is intact")
        print("  head \(head.sequence) \(head.hash.hex)")
        print("  \(log.environment.usedSize / Int(head.sequence)) bytes on disk per event, indexes included")
        print("Next: tally verify --data \(storage.path)")
    }

    /// A usage event from client traffic: the key is a pure function of the run and number,
    /// so a retry carries the same key and payload.
    private func usage(_ number: Int, runID: String) -> EventDraft {
        var generator = DemoRandom(seed: seed &+ UInt64(number))
        let organization = "org_\(generator.next() % UInt64(organizations))"
        let metric = Self.metrics[Int(generator.next() % UInt64(Self.metrics.count))]
        let quantity = 1 + generator.next() % 50
        let user = "usr_\(generator.next() % 40)"
        let payload = "{\"metric\":\"\(metric)\",\"quantity\":\(quantity),\"user\":\"\(user)\"}"
        return EventDraft(
            organizationID: organization, eventType: "usage.recorded",
            occurredAt: Date(), idempotencyKey: Self.orderedKey(runID: runID, number: number),
            actor: "demo-client", payload: Data(payload.utf8))
    }

    /// Keys that sort in the order they are issued, like ULIDs: the cheapest for the log's
    /// idempotency index (docs/PERFORMANCE.md).
    static func orderedKey(runID: String, number: Int) -> String {
        let digits = String(number, radix: 36)
        return "demo-\(runID)-" + String(repeating: "0", count: max(0, 10 - digits.count)) + digits
    }

    private static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}

/// SplitMix64: deterministic, so the same seed gives the same demo.
struct DemoRandom {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
