import ArgumentParser
import Billing
import Foundation
import Tally
import TallyCommands

/// `tally revenue --from DATE --to DATE [--recognized|--deferred]`.
struct RevenueCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revenue",
        abstract: "Revenue recognized over a date range, or the deferred balance, as of any date.",
        discussion: """
            --recognized (the default): per currency, the revenue recognized on the UTC days from
            --from through --to: every invoice line spread ratably by the second over its service
            period. --deferred: the balance at the end of --to (invoiced minus recognized), as the
            business knew it then (the log as of --to, unless --as-of says otherwise). Invoices
            bill periods in arrears, so deferred revenue stays zero today.

            Example:
              tally revenue --from 2026-01-01 --to 2026-03-31 --format csv
            """)

    @OptionGroup var storage: DataDirectoryOptions
    @OptionGroup var query: QueryOptions
    @Option(help: ArgumentHelp("First day (YYYY-MM-DD).", valueName: "DATE")) var from: String
    @Option(help: ArgumentHelp("Last day, included (YYYY-MM-DD).", valueName: "DATE")) var to: String
    @Flag(help: "Revenue recognized in the range (the default).") var recognized = false
    @Flag(help: "The deferred-revenue balance at the end of --to.") var deferred = false

    func run() async throws {
        guard !(recognized && deferred) else { throw fail("--recognized and --deferred: choose one") }
        let first = try UsageCommand.day(from, "--from")
        let last = try UsageCommand.day(to, "--to")
        guard first <= last else { throw fail("--from must not be after --to") }
        let engine = try storage.openExistingEngine()
        var output = QueryOutput(columns: ["currency", deferred ? "deferred" : "recognized"])
        let amounts: [String: Int64]
        if deferred {
            let view =
                query.asOf == nil
                ? try engine.view(asOf: .occurredAt(last.addingTimeInterval(86_399))) : try query.view(of: engine).0
            amounts = try view.deferredRevenue(at: last)
        } else {
            amounts = try query.view(of: engine).0.recognizedRevenue(from: first, to: last)
        }
        for (currency, minorUnits) in amounts.sorted(by: { $0.key < $1.key }) {
            let money =
                (try? Billing.Currency(currency)).map {
                    OutputValue.money(Billing.Money(minorUnits: minorUnits, currency: $0))
                } ?? .integer(minorUnits)
            output.rows.append([.text(currency), money])
        }
        Swift.print(output.render(query.resolvedFormat), terminator: "")
    }
}
