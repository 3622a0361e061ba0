import ArgumentParser
import Foundation
import Tally
import TallyCommands

/// `tally usage ORG [--from DATE] [--to DATE] [--by day|user|resource]`.
struct UsageCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "usage",
        abstract: "An organization's usage per day, per user or per resource (cost attribution).",
        discussion: """
            One row per metric and day (or user, or resource) over the UTC days from --from
            through --to (default: the 30 days up to now, or up to --as-of): the sum (corrections
            included), the number of events, the largest single quantity and the latest one.

            Example:
              tally usage org_0042 --from 2026-10-01 --to 2026-10-31 --by user --format csv
            """)

    @OptionGroup var storage: DataDirectoryOptions
    @OptionGroup var query: QueryOptions
    @Argument(help: "The organization id.") var organization: String
    @Option(help: ArgumentHelp("First day (YYYY-MM-DD).", valueName: "DATE")) var from: String?
    @Option(help: ArgumentHelp("Last day, included (YYYY-MM-DD).", valueName: "DATE")) var to: String?
    @Option(help: ArgumentHelp("day, user or resource.", valueName: "BREAKDOWN")) var by: String = "day"
    @Option(help: "Only this metric.") var metric: String?

    func run() async throws {
        guard let breakdown = UsageBreakdown(rawValue: by) else {
            throw fail("--by: expected day, user or resource, got \"\(by.prefix(20))\"")
        }
        let end = try to.map { try Self.day($0, "--to") }
        let start = try from.map { try Self.day($0, "--from") }
        let engine = try storage.openExistingEngine()
        let (view, now) = try query.view(of: engine)
        let last = end ?? now
        let first = start ?? last.addingTimeInterval(-29 * 86_400)
        guard first <= last else { throw fail("--from must not be after --to") }
        guard try view.organization(organization) != nil else { throw fail("no organization \(organization)") }
        let rows = try view.usage(of: organization, metric: metric, from: first, to: last, by: breakdown)
        var output = QueryOutput(columns: ["metric", breakdown.rawValue, "sum", "events", "max", "latest"])
        output.rows = rows.map { row in
            [
                .text(row.metric), .text(row.key), .integer(row.rollup.sum), .integer(row.rollup.events),
                .integer(row.rollup.maximum), .integer(row.rollup.latest),
            ]
        }
        Swift.print(output.render(query.resolvedFormat), terminator: "")
    }

    static func day(_ text: String, _ option: String) throws -> Date {
        guard let date = QueryOptions.date(text) else {
            throw fail("\(option): expected a date such as 2026-10-01, got \"\(text.prefix(40))\"")
        }
        return date
    }
}
