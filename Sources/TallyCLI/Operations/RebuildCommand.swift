import ArgumentParser
import Foundation
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

    @Option(
        help: "One read model: catalog, subscriptions, quotas, usage_rollups, invoices, revenue or mrr (default: all).")
    var projection: String?

    @Flag(
        help:
            "Check that the rebuilt read models equal, byte for byte, the ones kept incrementally (exit 1 if not). Run it while nothing else appends."
    )
    var check = false

    func run() async throws {
        let engine = try storage.openExistingEngine()
        let names = engine.readModelNames
        if let projection, !names.contains(projection) {
            throw fail(
                "--projection: no read model named \"\(projection.prefix(40))\" (there are \(names.joined(separator: ", ")))"
            )
        }
        let events = try engine.head()?.sequence ?? 0
        let progress = ProgressReporter("rebuild", total: Double(events), unit: "events")
        let rebuilt = projection.map { [$0] } ?? names
        let before = try check ? rebuilt.map { try engine.digest(ofReadModel: $0) } : []
        let started = ContinuousClock.now
        try engine.rebuild(rebuilt) { _, folded in
            progress.update(done: Double(folded), count: Int(folded))
        }
        progress.finish()
        let seconds = ProgressReporter.seconds(ContinuousClock.now - started)
        print(
            "rebuilt \(projection ?? names.joined(separator: ", ")) from \(ProgressReporter.grouped(Int(events))) events in \(String(format: "%.2f", seconds)) s: \(ProgressReporter.grouped(Int(Double(events) / max(seconds, 1e-9)))) events/s"
        )
        if check {
            let after = try rebuilt.map { try engine.digest(ofReadModel: $0) }
            let differing = zip(rebuilt, zip(before, after)).flatMap { name, pair in
                pair.0.keys.sorted().filter { pair.0[$0] != pair.1[$0] }.map { "\(name).\($0)" }
            }
            guard differing.isEmpty else {
                throw fail(
                    "--check: the rebuild differs from the read models kept incrementally in \(differing.joined(separator: ", "))",
                    code: 1)
            }
            print("checked: every rebuilt database equals the one kept incrementally")
        }
    }
}
