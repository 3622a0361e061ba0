import ArgumentParser
import EventLog
import Foundation
import Tally
import TallyCommands

/// `tally export [--organization ID] [--from DATE] [--to DATE] [--format jsonl|csv] [--output FILE]`.
struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write the billing history in sequence order, for auditors and backups.",
        discussion: """
            JSONL: one event per line in the proto3 JSON mapping, its payload decoded, with its
            sequence, hash and previous hash; then a manifest line (count, first and last
            sequence, head hash, and whether the export is complete) to check against
            `tally verify`. A complete export restores byte for byte (`tally restore`).
            CSV: one row per event with stable columns (docs/CLI.md, "tally export"). --from and --to select
            by when events occurred (UTC days, --to included). Streams in constant memory.

            Example:
              tally export --data ./tally-data --output history.jsonl
              tally export --organization org_0042 --from 2026-01-01 --format csv --output acme.csv
            """)

    enum Format: String, ExpressibleByArgument {
        case jsonl, csv
    }

    @OptionGroup var storage: DataDirectoryOptions
    @Option(help: "Only this organization's events.") var organization: String?
    @Option(help: ArgumentHelp("Only events that occurred on or after this day (YYYY-MM-DD).", valueName: "DATE"))
    var from: String?
    @Option(help: ArgumentHelp("Only events that occurred on or before this day (YYYY-MM-DD).", valueName: "DATE"))
    var to: String?
    @Option(help: "jsonl or csv.") var format: Format = .jsonl
    @Option(help: ArgumentHelp("Write here instead of standard output.", valueName: "FILE")) var output: String?

    static let csvColumns = [
        "sequence", "hash", "previous_hash", "occurred_at", "recorded_at", "organization_id", "event_type",
        "schema_version",
        "idempotency_key", "actor", "correlation_id", "causation_id", "payload",
    ]

    func run() async throws {
        let first = try from.map { try UsageCommand.day($0, "--from") }
        let last = try to.map { try UsageCommand.day($0, "--to").addingTimeInterval(86_400) }
        let engine = try storage.openExistingEngine()
        guard let head = try engine.head() else { throw fail("the log in \(storage.path) is empty") }
        let handle: FileHandle
        if let output {
            guard FileManager.default.createFile(atPath: output, contents: nil),
                let file = FileHandle(forWritingAtPath: output)
            else {
                throw fail("cannot write \(output)")
            }
            handle = file
        } else {
            handle = FileHandle.standardOutput
        }
        let writer = BufferedOutput(handle)
        if format == .csv { try writer.write(Self.csvColumns.joined(separator: ",") + "\n") }
        let progress = ProgressReporter("export", total: Double(head.sequence), unit: "events")
        var count: UInt64 = 0
        var firstSequence: UInt64?
        var lastSequence: UInt64?
        let write = { (event: StoredEvent) throws in
            if let first, event.occurredAt < first { return }
            if let last, event.occurredAt >= last { return }
            if format == .jsonl {
                try ExportLine.append(event, to: &writer.buffer)
                try writer.flushIfFull()
            } else {
                try writer.write(try Self.csvRow(event) + "\n")
            }
            count += 1
            firstSequence = firstSequence ?? event.sequence
            lastSequence = event.sequence
        }
        let started = ContinuousClock.now
        if let organization {
            var after: UInt64 = 0
            while true {
                let events = try engine.events(forOrganization: organization, after: after, limit: 4_096).filter {
                    $0.sequence <= head.sequence
                }
                for event in events { try write(event) }
                guard let next = events.last?.sequence, events.count == 4_096 else { break }
                after = next
                progress.update(done: Double(next), count: Int(count))
            }
        } else {
            try engine.forEachEvent(batchSize: 16_384) { event in
                guard event.sequence <= head.sequence else { return false }
                try write(event)
                if event.sequence % 16_384 == 0 { progress.update(done: Double(event.sequence), count: Int(count)) }
                return true
            }
        }
        if format == .jsonl {
            let manifest = ExportManifest(
                count: count, firstSequence: firstSequence, lastSequence: lastSequence, headSequence: head.sequence,
                headHash: head.hash.hex,
                complete: organization == nil && first == nil && last == nil)
            try writer.write(manifest.line + "\n")
        }
        try writer.flush()
        progress.finish()
        let seconds = ProgressReporter.seconds(ContinuousClock.now - started)
        if let output {
            try handle.close()
            FileHandle.standardError.write(
                Data(
                    "exported \(ProgressReporter.grouped(Int(count))) events to \(output) in \(String(format: "%.2f", seconds)) s (\(ProgressReporter.grouped(Int(Double(count) / max(seconds, 1e-9))))/s); head \(head.sequence) \(head.hash.hex)\n"
                        .utf8))
        }
    }

    static func csvRow(_ event: StoredEvent) throws -> String {
        let envelope = event.envelope
        var payload = ""
        // The payload alone, re-serialized compact with sorted keys (the documented CSV form).
        if let message = ExportLine.decodedPayload(of: event),
            let object = try? JSONSerialization.jsonObject(with: Data(try message.jsonString().utf8))
        {
            payload = String(
                decoding: try JSONSerialization.data(
                    withJSONObject: object, options: [.sortedKeys, .fragmentsAllowed]), as: UTF8.self)
        }
        let fields = [
            String(event.sequence), event.hash.hex, event.previousHash.hex, event.occurredAt.formatted(.iso8601),
            event.recordedAt.formatted(.iso8601),
            envelope.organizationID, envelope.eventType, String(envelope.schemaVersion), envelope.idempotencyKey,
            envelope.actor,
            envelope.correlationID, envelope.causationID, payload,
        ]
        return fields.map { field in
            field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" })
                ? "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : field
        }.joined(separator: ",")
    }
}
