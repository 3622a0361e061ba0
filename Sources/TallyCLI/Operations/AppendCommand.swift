import ArgumentParser
import BillingEvents
import Foundation
import SwiftProtobuf
import Tally
import TallyCommands

/// `tally append [FILE]`.
struct AppendCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "append",
        abstract: "Carry out commands read as JSON lines, from FILE or standard input.",
        discussion: """
            One command per line, a tally.v1.Command in the proto3 JSON mapping
            (schemas/tally/v1/commands.proto), for example:
              {"registerOrganization": {"id": "org_42", "name": "Acme", "billingEmail": "ap@acme.test", "country": "DE", "currency": "EUR"}}
              {"recordUsage": {"organizationId": "org_42", "metric": "api_calls", "quantity": "120", "occurredAt": "2026-10-01T09:30:00Z", "idempotencyKey": "req-7"}}
            Idempotency keys are honoured: a line sent twice is applied once. A bad line is
            reported on standard error with its line number and the reason; the good lines are
            still carried out, and the exit code is 1 if any line failed.

            Example:
              tally append commands.jsonl --data ./tally-data
              cat usage.jsonl | tally append
            """)

    @OptionGroup var storage: DataDirectoryOptions
    @Argument(help: "A file of JSON lines (default: standard input).") var file: String?

    func run() async throws {
        let handle: FileHandle
        if let file {
            guard let opened = FileHandle(forReadingAtPath: file) else { throw fail("cannot read \(file)") }
            handle = opened
        } else {
            handle = FileHandle.standardInput
        }
        let engine = try storage.openExistingEngineOrCreate()
        let runner = CommandRunner(engine: engine)
        let reader = LineReader(handle)
        let source = file ?? "stdin"
        var applied = 0
        var duplicates = 0
        var failed = 0
        // Lines in order, parsed or not: errors are reported in line order.
        var pending: [(line: Int, command: Result<Tally_V1_Command, CommandRunner.ParseFailure>)] = []
        func flush() async {
            let parsed = pending.compactMap { try? $0.command.get() }
            var outcomes = (await runner.run(parsed)).makeIterator()
            for (line, command) in pending {
                let outcome: CommandRunner.Outcome
                switch command {
                case .success: outcome = outcomes.next()!
                case .failure(let failure): outcome = .failed(failure.description)
                }
                switch outcome {
                case .applied: applied += 1
                case .duplicate: duplicates += 1
                case .failed(let reason):
                    failed += 1
                    FileHandle.standardError.write(Data("tally: \(source):\(line): \(reason)\n".utf8))
                }
            }
            pending.removeAll(keepingCapacity: true)
        }
        while let line = try reader.next() {
            guard !line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) else { continue }
            do {
                pending.append((reader.lineNumber, .success(try Tally_V1_Command(jsonUTF8Data: line))))
            } catch {
                pending.append(
                    (
                        reader.lineNumber,
                        .failure(.init(description: "not a command in the proto3 JSON mapping (\(error))"))
                    ))
            }
            if pending.count >= 1_000 { await flush() }
        }
        await flush()
        print("\(applied) applied, \(duplicates) duplicates ignored, \(failed) failed")
        if failed > 0 { throw ExitCode(1) }
    }
}
