import ArgumentParser
import Foundation
import Projections
import Tally

/// `tally rebuild [--projection NAME]`.
struct RebuildCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rebuild",
        abstract: "Rebuild read models from the log, and report the rate.",
        discussion: """
            Replays the whole log into fresh copies of the read models (all of them, in one pass,
            or the one named), then switches to them atomically; appends from other processes may
            go on meanwhile. The result is byte-identical to the models kept incrementally.

            Example:
              tally rebuild --data ./tally-data --projection quotas
            """)

    @OptionGroup var storage: DataDirectoryOptions

    @Option(help: "One read model: catalog, subscriptions, quotas, usage_rollups, invoices or revenue (default: all).")
    var projection: String?

    func run() async throws {
        let engine = try storage.openExistingEngine()
        let names = engine.projections.names
        if let projection, !names.contains(projection) {
            throw fail("--projection: no read model named \"\(projection.prefix(40))\" (there are \(names.joined(separator: ", ")))")
        }
        let events = try engine.log.head()?.sequence ?? 0
        let progress = ProgressReporter("rebuild", total: Double(events), unit: "events")
        let started = ContinuousClock.now
        try engine.projections.rebuild(projection.map { [$0] } ?? names) { step in
            progress.update(done: Double(step.folded), count: Int(step.folded))
        }
        progress.finish()
        let seconds = ProgressReporter.seconds(ContinuousClock.now - started)
        print("rebuilt \(projection ?? names.joined(separator: ", ")) from \(ProgressReporter.grouped(Int(events))) events in \(String(format: "%.2f", seconds)) s: \(ProgressReporter.grouped(Int(Double(events) / max(seconds, 1e-9)))) events/s")
    }
}
