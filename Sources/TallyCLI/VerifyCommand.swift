import ArgumentParser
import EventLog
import Foundation

struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check that no event of the log was altered or removed.",
        discussion: """
            Walks the hash chain: every record's stored hash must be the SHA-256 of its envelope,
            every envelope must name the previous event's hash, and sequences must run 1, 2, 3...
            without a gap. Exits 0 and prints the head (sequence and hash) when the log is intact;
            exits 1 and prints the first bad sequence and the reason otherwise.

            Example:
              tally verify --data ./tally-data
              tally verify --from-checkpoint 1000:9f2c...e1 --head 5000:77ab...03
            """
    )

    @OptionGroup var storage: DataDirectoryOptions

    @Option(help: ArgumentHelp("Start after a trusted SEQUENCE:HASH instead of event 1.", valueName: "SEQ:HASH"))
    var fromCheckpoint: String?

    @Option(
        help: ArgumentHelp(
            "A head recorded earlier; a log that now ends before it, or differs there, was truncated.",
            valueName: "SEQ:HASH"))
    var head: String?

    @Option(help: "Output format: text or json.")
    var format: OutputFormat = .text

    enum OutputFormat: String, ExpressibleByArgument {
        case text, json
    }

    func run() throws {
        let checkpoint = try fromCheckpoint.map { try Self.parseCheckpoint($0, option: "--from-checkpoint") }
        let recordedHead = try head.map { try Self.parseCheckpoint($0, option: "--head") }
        let report: VerificationReport
        do {
            var options = EventLogOptions()
            options.createIfMissing = false
            options.environment.readOnly = true
            let log = try EventLog(directory: storage.path, options: options)
            let progress = ProgressReporter("verify", total: Double(try log.head()?.sequence ?? 1), unit: "events")
            report = try log.verify(from: checkpoint, recordedHead: recordedHead) { checked in
                progress.update(done: Double(checked), count: Int(checked))
            }
            progress.finish()
        } catch {
            throw fail("cannot verify \(storage.path): \(error)")
        }
        print(render(report))
        if !report.isIntact { throw ExitCode(1) }
    }

    private func render(_ report: VerificationReport) -> String {
        switch format {
        case .text:
            if let failure = report.failure {
                return "NOT INTACT: event \(failure.sequence): \(failure.reason.rawValue): \(failure.detail)\n"
                    + "checked \(report.eventsChecked) events before it"
            }
            guard let head = report.head else { return "intact: the log is empty" }
            return "intact: \(report.eventsChecked) events checked\nhead \(head.sequence) \(head.hash.hex)"
        case .json:
            var fields = ["\"intact\":\(report.isIntact)", "\"events_checked\":\(report.eventsChecked)"]
            if let head = report.head {
                fields.append("\"head\":{\"sequence\":\(head.sequence),\"hash\":\"\(head.hash.hex)\"}")
            }
            if let failure = report.failure {
                fields.append(
                    "\"failure\":{\"sequence\":\(failure.sequence),\"reason\":\"\(failure.reason.rawValue)\",\"detail\":\(jsonString(failure.detail))}"
                )
            }
            return "{" + fields.joined(separator: ",") + "}"
        }
    }

    private func jsonString(_ text: String) -> String {
        let data = try! JSONEncoder().encode(text)
        return String(decoding: data, as: UTF8.self)
    }

    static func parseCheckpoint(_ text: String, option: String) throws -> Checkpoint {
        guard let checkpoint = Checkpoint(text) else {
            throw fail(
                "\(option) must be SEQUENCE:HASH with a sequence of 1 or more and 64 hex digits, got \"\(text)\"")
        }
        return checkpoint
    }
}
