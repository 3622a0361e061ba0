import ArgumentParser
import EventLog
import Foundation
import Payments
import Tally

/// `tally demo`: a living SaaS business, generated through the library's public API.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Generate a realistic, deterministic SaaS billing history, then summarize it.",
        discussion: """
            Lives --months of a SaaS business day by day through the engine: organizations sign
            up over time on Free, Professional or Enterprise (some with negotiated contracts);
            trials convert when a card is on file and expire when not; customers upgrade,
            downgrade, cancel, reactivate and come back; usage on every standard metric follows
            the week and the seasons, attributed to users and dashboards, with retried requests,
            late arrivals and corrections; Free customers run into their quota. Time advances as
            it passes (renewals, trial ends, cancellations at period end). The same seed gives
            the same history. The data stays in --data for the other commands.

            Example:
              tally demo --data ./tally-data --organizations 500 --months 12 --seed 42 --replace
            """
    )

    @OptionGroup var storage: DataDirectoryOptions

    @Option(help: "How many organizations sign up over the period.")
    var organizations: Int = 500

    @Option(help: "How many months of history, ending 2026-11-01.")
    var months: Int = 12

    @Option(help: "Seed for the generated history (same seed, same history).")
    var seed: UInt64 = 42

    @Flag(help: "Delete the log already in --data (data.mdb and lock.mdb) and start afresh.")
    var replace = false

    /// The history ends here, whatever today is, so a seed always gives the same events.
    static let end = Date(timeIntervalSince1970: 1_793_491_200)  // 2026-11-01T00:00:00Z

    func validate() throws {
        guard (1...100_000).contains(organizations) else {
            throw ValidationError("--organizations must be from 1 to 100000, got \(organizations)")
        }
        guard (1...60).contains(months) else { throw ValidationError("--months must be from 1 to 60, got \(months)") }
    }

    func run() async throws {
        if replace {
            for file in ["data.mdb", "lock.mdb"] {
                let path = storage.path + "/" + file
                if FileManager.default.fileExists(atPath: path) {
                    do { try FileManager.default.removeItem(atPath: path) } catch {
                        throw fail("cannot remove \(path): \(error.localizedDescription)")
                    }
                }
            }
        }
        // The demo's customers pay through the in-process gateway (test cards decide the outcome).
        let engine = try storage.openEngine(failure: "cannot open \(storage.path)", gateway: InProcessGateway())
        if let head = try engine.head() {
            throw fail(
                "\(storage.path) already holds a log (head \(head.sequence)); the demo needs an empty directory: pass --replace, or another --data"
            )
        }
        let simulation = SaaSSimulation(
            engine: engine, organizations: organizations, months: months, seed: seed, end: Self.end)
        print(
            "Tally demo: \(organizations) organizations over \(months) months (\(Self.day(simulation.start)) to \(Self.day(simulation.end))), seed \(seed), into \(engine.directory)"
        )
        let progress = ProgressReporter("demo", total: Double(simulation.days), unit: "usage events")
        let started = ContinuousClock.now
        let tally = try await simulation.run { day, sent in progress.update(done: Double(day), count: sent) }
        progress.finish()
        let seconds = ProgressReporter.seconds(ContinuousClock.now - started)
        try DemoSummary(engine: engine, tally: tally, seconds: seconds, end: Self.end).print()
        print("Next: tally verify --data \(storage.path)")
    }

    static func day(_ date: Date) -> String {
        date.formatted(.iso8601.year().month().day())
    }
}
