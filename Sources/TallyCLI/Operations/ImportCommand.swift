import ArgumentParser
import Foundation
import Tally

/// `tally import usage FILE.csv`.
struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Bulk backfills.",
        subcommands: [ImportUsage.self])
}

struct ImportUsage: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "usage",
        abstract: "Backfill usage from a CSV file, in batches, through the engine's checks.",
        discussion: """
            The first row names the columns, in any order (docs/CLI.md):
              organization_id, metric, quantity, occurred_at   required
              user_id, resource_id, idempotency_key             optional
            occurred_at is ISO 8601 (2026-10-01T09:30:00Z). Fields may be quoted ("a,b"), with
            "" for a quote; a field may not span lines. Rows go in batches of 1,000 (one commit
            each), checked as if recorded one by one: quotas, retries (a row with a key already
            used is skipped as a duplicate) and refusals. A bad row is reported with its line
            number and the reason; the others are still imported; the exit code is 1 if any
            row failed.

            Example:
              tally import usage backfill.csv --data ./tally-data
            """)

    @OptionGroup var storage: DataDirectoryOptions
    @Argument(help: "The CSV file.") var file: String

    static let required = ["organization_id", "metric", "quantity", "occurred_at"]
    static let optional = ["user_id", "resource_id", "idempotency_key"]

    func run() async throws {
        guard let handle = FileHandle(forReadingAtPath: file) else { throw fail("cannot read \(file)") }
        let reader = LineReader(handle)
        guard let headerLine = try reader.next() else { throw fail("\(file) is empty: expected a header row") }
        let header = Self.fields(String(decoding: headerLine, as: UTF8.self)).map {
            $0.trimmingCharacters(in: .whitespaces)
        }
        for column in Self.required where !header.contains(column) {
            throw fail("\(file):1: the header has no \(column) column")
        }
        for column in header where !Self.required.contains(column) && !Self.optional.contains(column) {
            throw fail(
                "\(file):1: unknown column \"\(column.prefix(40))\" (known: \((Self.required + Self.optional).joined(separator: ", ")))"
            )
        }
        let position = Dictionary(header.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        let engine = try storage.openExistingEngine()
        let size = (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? 1
        let progress = ProgressReporter("import", total: Double(size), unit: "rows")
        var imported = 0
        var duplicates = 0
        var failed = 0
        var rows = 0
        var batch: [(line: Int, usage: UsageRecord)] = []
        let report = { (line: Int, reason: String) in
            FileHandle.standardError.write(Data("tally: \(file):\(line): \(reason)\n".utf8))
        }
        func flush() async throws {
            guard !batch.isEmpty else { return }
            let results = try await engine.recordUsage(batch.map(\.usage))
            for ((line, _), result) in zip(batch, results) {
                switch result {
                case .success(let receipt): if receipt.isDuplicate { duplicates += 1 } else { imported += 1 }
                case .failure(let error):
                    failed += 1
                    report(line, "\(error)")
                }
            }
            batch.removeAll(keepingCapacity: true)
            progress.update(done: Double(reader.bytesRead), count: rows)
        }
        while let line = try reader.next() {
            let text = String(decoding: line, as: UTF8.self)
            guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { continue }
            rows += 1
            let values = Self.fields(text)
            guard values.count == header.count else {
                failed += 1
                report(reader.lineNumber, "expected \(header.count) fields, found \(values.count)")
                continue
            }
            let value = { (column: String) in position[column].map { values[$0] } ?? "" }
            guard let quantity = Int64(value("quantity")) else {
                failed += 1
                report(reader.lineNumber, "quantity: must be a whole number, got \"\(value("quantity").prefix(40))\"")
                continue
            }
            guard let occurredAt = try? Date(value("occurred_at"), strategy: .iso8601) else {
                failed += 1
                report(
                    reader.lineNumber,
                    "occurred_at: must be ISO 8601 such as 2026-10-01T09:30:00Z, got \"\(value("occurred_at").prefix(40))\""
                )
                continue
            }
            let key = value("idempotency_key")
            batch.append(
                (
                    reader.lineNumber,
                    UsageRecord(
                        organizationID: value("organization_id"), metric: value("metric"), quantity: quantity,
                        userID: value("user_id"),
                        resourceID: value("resource_id"), occurredAt: occurredAt,
                        idempotencyKey: key.isEmpty ? nil : key)
                ))
            if batch.count == 1_000 { try await flush() }
        }
        try await flush()
        progress.finish()
        print("\(imported) rows imported, \(duplicates) duplicates skipped, \(failed) failed")
        if failed > 0 { throw ExitCode(1) }
    }

    /// The fields of one CSV row (RFC 4180 quoting, within one line).
    static func fields(_ line: String) -> [String] {
        var fields: [String] = []
        var field = ""
        var quoted = false
        var characters = line.makeIterator()
        var pending: Character? = nil
        while let character = pending ?? characters.next() {
            pending = nil
            if quoted {
                if character == "\"" {
                    if let next = characters.next() {
                        if next == "\"" {
                            field.append("\"")
                        } else {
                            quoted = false
                            pending = next
                        }
                    } else {
                        quoted = false
                    }
                } else {
                    field.append(character)
                }
            } else if character == "\"" && field.isEmpty {
                quoted = true
            } else if character == "," {
                fields.append(field)
                field = ""
            } else if character != "\r" {
                field.append(character)
            }
        }
        fields.append(field)
        return fields
    }
}
