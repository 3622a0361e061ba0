import ArgumentParser
import Billing
import Foundation
import Tally
import TallyCommands

/// `tally cohorts [--show logos|revenue] [--trials]`.
struct CohortsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cohorts",
        abstract: "Retention by signup month (logos and revenue), or trial-to-paid conversion by trial-start month.",
        discussion: """
            A cohort is the organizations that signed up in a month and paid at some point. For
            each month since signup: how many still pay at its end (logo retention, over the
            cohort's size) and their MRR (revenue retention, over the sum of each customer's MRR
            on the day it first paid). As a table, a triangle of percentages (--show logos or
            revenue); as JSON or CSV, one row per cohort and month with every figure.

            --trials: trial-to-paid conversion per month trials started: started, converted,
            expired, canceled, still trialing, and converted ÷ trials that ended.

            Example:
              tally cohorts --show revenue --to 2026-12-31
            """)

    enum Show: String, ExpressibleByArgument { case logos, revenue }

    @OptionGroup var storage: DataDirectoryOptions
    @OptionGroup var query: QueryOptions
    @Option(
        help: ArgumentHelp("Last day followed (YYYY-MM-DD; default: today, or the --as-of date).", valueName: "DATE"))
    var to: String?
    @Option(help: "In the table: logos or revenue retention.") var show: Show = .logos
    @Flag(help: "Trial-to-paid conversion by trial-start month instead.") var trials = false

    func run() async throws {
        let engine = try storage.openExistingEngine()
        let (view, now) = try query.view(of: engine)
        let format = query.resolvedFormat
        if trials {
            var output = QueryOutput(columns: [
                "month", "trials_started", "converted", "expired", "canceled", "still_trialing", "conversion_rate",
            ])
            output.rows = try view.trialConversion().cohorts.map { cohort in
                [
                    .text(cohort.month.description), .integer(cohort.started), .integer(cohort.converted),
                    .integer(cohort.expired), .integer(cohort.canceled),
                    .integer(cohort.stillTrialing), .percent(cohort.conversionRate),
                ]
            }
            Swift.print(output.render(format), terminator: "")
            return
        }
        let last = try to.map { UTCDay.number(of: try UsageCommand.day($0, "--to")) } ?? UTCDay.number(of: now)
        let histories = try view.customerHistories()
        let currencies = Set(histories.compactMap(\.currency)).sorted()
        let tables = try currencies.map { CohortTable(currency: try Currency($0), histories: histories, through: last) }
        if format == .table {
            Swift.print(triangle(tables), terminator: "")
            return
        }
        var output = QueryOutput(columns: [
            "currency", "cohort", "customers", "initial_mrr", "months_since_signup", "month", "paying_customers",
            "logo_retention", "mrr", "revenue_retention",
        ])
        for table in tables {
            for cohort in table.cohorts {
                for offset in cohort.mrr.indices {
                    output.rows.append([
                        .text(table.currency.code), .text(cohort.month.description), .integer(cohort.customers),
                        .money(Money(minorUnits: cohort.initialMRR, currency: table.currency)), .integer(Int64(offset)),
                        .text(cohort.month.advanced(by: offset).description), .integer(cohort.payingCustomers[offset]),
                        .percent(cohort.logoRetention(offset)),
                        .money(Money(minorUnits: cohort.mrr[offset], currency: table.currency)),
                        .percent(cohort.revenueRetention(offset)),
                    ])
                }
            }
        }
        Swift.print(output.render(format), terminator: "")
    }

    /// Cohorts down, months since signup across, each cell a retention percentage.
    private func triangle(_ tables: [CohortTable]) -> String {
        var text = ""
        for table in tables {
            let width = table.cohorts.map(\.mrr.count).max() ?? 0
            var output = QueryOutput(
                columns: ["cohort (\(table.currency.code), \(show.rawValue) %)", "customers"]
                    + (0..<width).map { "m\($0)" })
            output.rows = table.cohorts.map { cohort in
                [.text(cohort.month.description), .integer(cohort.customers)]
                    + (0..<width).map { offset in
                        guard offset < cohort.mrr.count else { return .none }
                        return .percent(show == .logos ? cohort.logoRetention(offset) : cohort.revenueRetention(offset))
                    }
            }
            text += output.render(.table)
        }
        return text.isEmpty ? "no paying customers yet\n" : text
    }
}
