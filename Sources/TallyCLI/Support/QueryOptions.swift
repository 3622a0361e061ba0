public import ArgumentParser
import EventLog
import Foundation
import Tally
import TallyCommands

extension OutputFormat: ExpressibleByArgument {}

/// `--format` and `--as-of`, shared by every query.
struct QueryOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp("table, json or csv (default: table on a terminal, json otherwise).", valueName: "FORMAT"))
    var format: OutputFormat?

    @Option(
        name: .customLong("as-of"),
        help: ArgumentHelp(
            "A date (2026-03-01 or 2026-03-01T12:00:00Z): the business as it stood then, from the events that occurred by then; or a sequence number: the log as it stood after that event.",
            valueName: "DATE|SEQ"))
    var asOf: String?

    var resolvedFormat: OutputFormat {
        format ?? (isatty(STDOUT_FILENO) == 1 ? .table : .json)
    }

    /// The point in history asked for, or nil for now.
    func point() throws -> AsOf? {
        guard let asOf else { return nil }
        if let sequence = UInt64(asOf) {
            guard sequence > 0 else { throw fail("--as-of: a sequence starts at 1, got 0") }
            return .sequence(sequence)
        }
        guard let date = Self.date(asOf) else {
            throw fail(
                "--as-of: expected a date such as 2026-03-01 or 2026-03-01T12:00:00Z, or a sequence number, got \"\(asOf.prefix(40))\""
            )
        }
        return .occurredAt(date)
    }

    /// The read models at the point asked for, and the moment queries should use as "now".
    func view(of engine: Engine) throws -> (ReadModelView, Date) {
        let point = try point()
        if case .sequence(let sequence) = point {
            guard let head = try engine.head(), sequence <= head.sequence else {
                throw fail("--as-of \(sequence): the log ends at \(try engine.head()?.sequence ?? 0)")
            }
        }
        let view: ReadModelView
        do { view = try engine.view(asOf: point) } catch {
            throw fail("cannot fold the read models as of \(asOf ?? "now"): \(error)")
        }
        switch point {
        case .occurredAt(let date): return (view, date)
        case .sequence(let sequence): return (view, try engine.event(at: sequence)?.occurredAt ?? Date())
        case nil: return (view, Date())
        }
    }

    /// 2026-03-01 (midnight UTC) or a full ISO 8601 date-time.
    static func date(_ text: String) -> Date? {
        if let date = try? Date(text, strategy: .iso8601) { return date }
        return try? Date(text + "T00:00:00Z", strategy: .iso8601)
    }
}
