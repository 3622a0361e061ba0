import ArgumentParser
import Billing
import Foundation
import Tally
import TallyCommands

/// `tally ltv [--from DATE] [--to DATE] [--trailing N]`.
struct LTVCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ltv",
        abstract:
            "Customer lifetime value per month: ARPA ÷ customer churn rate, for the month and for trailing months.",
        discussion: """
            One row per currency and month (default: the last 12): ARPA at the month's end, the
            month's customer churn rate and LTV = ARPA ÷ that rate; and the same over the
            --trailing months ending with it (default 12: churned customers over the sum of
            customers at each month's start), which a single quiet or stormy month does not
            swing. LTV is null when no customer churned: a churn rate of zero would make it
            infinite, and no finite figure would be honest. docs/METRICS.md explains.

            Example:
              tally ltv --trailing 6 --format json
            """)

    @OptionGroup var storage: DataDirectoryOptions
    @OptionGroup var query: QueryOptions
    @OptionGroup var range: DateRangeOptions
    @Option(help: "Months in the trailing window, 1 to 36.") var trailing: Int = 12

    func run() async throws {
        guard (1...36).contains(trailing) else { throw fail("--trailing: expected 1 to 36 months, got \(trailing)") }
        let engine = try storage.openExistingEngine()
        let (view, now) = try query.view(of: engine)
        let months = try range.months(now: now)
        var output = QueryOutput(columns: [
            "currency", "month", "customers", "arpa", "customer_churn_rate", "ltv", "trailing_months",
            "trailing_churned", "trailing_customer_months",
            "trailing_churn_rate", "trailing_ltv",
        ])
        for ledger in try view.revenueLedgers() {
            for month in months {
                let metrics = ledger.metrics(for: month)
                let window = (0..<trailing).map { ledger.metrics(for: month.advanced(by: -$0)) }
                let churned = window.reduce(Int64(0)) { $0 + $1.interval.movements.count(.churn) }
                let customerMonths = window.reduce(Int64(0)) { $0 + $1.interval.startingCustomers }
                let trailingLTV = LifetimeValue.estimate(
                    mrr: metrics.interval.endingMRR, customers: metrics.interval.endingCustomers, churned: churned,
                    customerMonths: customerMonths,
                    currency: ledger.currency)
                output.rows.append([
                    .text(ledger.currency.code), .text(month.description), .integer(metrics.interval.endingCustomers),
                    metrics.arpa.map { .money($0) } ?? .none,
                    .percent(metrics.customerChurnRate), metrics.lifetimeValue.map { .money($0) } ?? .none,
                    .integer(Int64(trailing)), .integer(churned),
                    .integer(customerMonths), .percent(Rate(churned, over: customerMonths)),
                    trailingLTV.map { .money($0) } ?? .none,
                ])
            }
        }
        Swift.print(output.render(query.resolvedFormat), terminator: "")
    }
}
