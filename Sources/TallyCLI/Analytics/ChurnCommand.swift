import ArgumentParser
import Billing
import Foundation
import Tally
import TallyCommands

/// `tally churn [--from DATE] [--to DATE]`.
struct ChurnCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "churn",
        abstract:
            "Churn and retention per month: customer churn, gross and net revenue churn, net revenue retention, ARPA.",
        discussion: """
            One row per currency and calendar month the range touches (default: the last 12):
            customers at the start, churned customers and the customer (logo) churn rate; MRR at
            the start, gross and net MRR churn rates and net revenue retention; ARPA at the
            end. Rates are percentages, exact until rounded half up to two decimals; null when
            the month began with nothing to churn. docs/METRICS.md defines each.

            Example:
              tally churn --from 2026-01-01 --to 2026-06-30 --format csv
            """)

    @OptionGroup var storage: DataDirectoryOptions
    @OptionGroup var query: QueryOptions
    @OptionGroup var range: DateRangeOptions

    func run() async throws {
        let engine = try storage.openExistingEngine()
        let (view, now) = try query.view(of: engine)
        let months = try range.months(now: now)
        var output = QueryOutput(columns: [
            "currency", "month", "customers_start", "new_customers", "churned_customers", "customers_end",
            "customer_churn_rate", "mrr_start",
            "mrr_end", "gross_revenue_churn_rate", "net_revenue_churn_rate", "net_revenue_retention", "arpa",
        ])
        for ledger in try view.revenueLedgers() {
            for month in months {
                let metrics = ledger.metrics(for: month)
                let money = { (minorUnits: Int64) in
                    OutputValue.money(Money(minorUnits: minorUnits, currency: ledger.currency))
                }
                output.rows.append([
                    .text(ledger.currency.code), .text(month.description), .integer(metrics.interval.startingCustomers),
                    .integer(
                        metrics.interval.movements.count(.newBusiness) + metrics.interval.movements.count(.reactivation)
                    ),
                    .integer(metrics.interval.movements.count(.churn)), .integer(metrics.interval.endingCustomers),
                    .percent(metrics.customerChurnRate),
                    money(metrics.interval.startingMRR), money(metrics.interval.endingMRR),
                    .percent(metrics.grossRevenueChurnRate),
                    .percent(metrics.netRevenueChurnRate), .percent(metrics.netRevenueRetention),
                    metrics.arpa.map { .money($0) } ?? .none,
                ])
            }
        }
        Swift.print(output.render(query.resolvedFormat), terminator: "")
    }
}
