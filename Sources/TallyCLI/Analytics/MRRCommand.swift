import ArgumentParser
import Billing
import Foundation
import Tally
import TallyCommands

/// `tally mrr [--from DATE] [--to DATE] [--interval day|month] [--include-usage] [--chart FILE.svg]`.
struct MRRCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mrr",
        abstract: "MRR, ARR and the movements behind them (new business, expansion, contraction, churn, reactivation).",
        discussion: """
            One row per currency and interval (a UTC day, or a calendar month cut to the range):
            MRR and paying customers at its start and end, ARR (12 × MRR), and each movement's
            amount and count. The movements add up exactly to the change in MRR. Usage revenue
            (usage and late-usage invoice lines, by the last day of the service billed) is its
            own column; --include-usage adds it to MRR in mrr_with_usage. --organization shows one
            organization's MRR, movements and usage revenue. docs/METRICS.md
            defines each figure.

            Example:
              tally mrr --from 2026-01-01 --to 2026-06-30 --interval month --chart mrr.svg
              tally mrr --organization org_0042 --interval day --from 2026-06-01 --to 2026-06-30
            """)

    enum Interval: String, ExpressibleByArgument { case day, month }

    @OptionGroup var storage: DataDirectoryOptions
    @OptionGroup var query: QueryOptions
    @OptionGroup var range: DateRangeOptions
    @Option(help: "day or month.") var interval: Interval = .month
    @Flag(help: "Also show MRR with the interval's usage revenue added (mrr_with_usage).") var includeUsage = false
    @Option(help: ArgumentHelp("Write an SVG chart of the movements and the MRR line to FILE.", valueName: "FILE"))
    var chart: String?
    @Option(help: "Only this currency (ISO 4217).") var currency: String?
    @Option(help: "One organization's MRR and movements instead of the total.") var organization: String?

    func run() async throws {
        let engine = try storage.openExistingEngine()
        let (view, now) = try query.view(of: engine)
        let (first, last) = try range.days(now: now)
        var ledgers: [RevenueLedger]
        if let organization {
            guard try view.organization(organization) != nil else { throw fail("no organization \(organization)") }
            ledgers = try view.revenueLedger(of: organization).map { [$0] } ?? []
        } else {
            ledgers = try view.revenueLedgers()
        }
        if let currency { ledgers = ledgers.filter { $0.currency.code == currency.uppercased() } }
        var columns = [
            "currency", "from", "to", "mrr_start", "mrr", "arr", "customers", "new_business", "expansion",
            "contraction", "churn", "reactivation",
            "net_change", "new_customers", "churned_customers", "reactivated_customers", "usage_revenue",
        ]
        if includeUsage { columns.append("mrr_with_usage") }
        var output = QueryOutput(columns: columns)
        var charted: (Currency, [RevenueLedger.Interval])?
        let usageRevenue =
            try organization.map { organization in
                try view.revenueLedger(of: organization).map {
                    [$0.currency.code: try view.dailyUsageRevenue(of: organization)]
                } ?? [:]
            } ?? view.dailyUsageRevenue()
        for ledger in ledgers {
            let spans = ledger.intervals(from: first, through: last, monthly: interval == .month)
            if charted == nil { charted = (ledger.currency, spans) }
            for span in spans {
                let usage = (usageRevenue[ledger.currency.code] ?? [:]).reduce(Int64(0)) {
                    $1.key >= span.firstDay && $1.key <= span.lastDay ? $0 + $1.value : $0
                }
                let money = { (minorUnits: Int64) in
                    OutputValue.money(Money(minorUnits: minorUnits, currency: ledger.currency))
                }
                var row: [OutputValue] = [
                    .text(ledger.currency.code), .text(DateRangeOptions.text(ofDay: span.firstDay)),
                    .text(DateRangeOptions.text(ofDay: span.lastDay)),
                    money(span.startingMRR), money(span.endingMRR), money(span.endingMRR * 12),
                    .integer(span.endingCustomers),
                ]
                row += MRRMovement.Kind.allCases.map { money(span.movements.amount($0)) }
                row += [
                    money(span.movements.net), .integer(span.movements.count(.newBusiness)),
                    .integer(span.movements.count(.churn)),
                    .integer(span.movements.count(.reactivation)), money(usage),
                ]
                if includeUsage { row.append(money(span.endingMRR + usage)) }
                output.rows.append(row)
            }
        }
        if let chart {
            guard let (currency, spans) = charted else {
                throw fail("--chart: no recurring revenue to chart\(query.asOf.map { " as of \($0)" } ?? "")")
            }
            let svg = MRRChart(currency: currency, intervals: spans, monthly: interval == .month).svg()
            do { try Data(svg.utf8).write(to: URL(fileURLWithPath: chart)) } catch {
                throw fail("--chart: cannot write \(chart): \(error.localizedDescription)")
            }
        }
        Swift.print(output.render(query.resolvedFormat), terminator: "")
    }
}
