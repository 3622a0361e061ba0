public import Billing
import Projections
import ReadModels

extension ReadModelView {
    /// Recurring revenue per currency (ISO 4217 code): MRR, customers and movements at any
    /// day, and the monthly rates (docs/METRICS.md).
    public func revenueLedgers() throws -> [RevenueLedger] {
        try projections.read(MRRProjector.name) { reader in
            let histories = try MRRProjector.histories(in: reader)
            return try MRRProjector.daily(in: reader).sorted { $0.key < $1.key }.map { code, daily in
                RevenueLedger(currency: try Currency(code), daily: daily, histories: histories)
            }
        }
    }

    /// One organization's recurring revenue over time (nil before it has any): its MRR and
    /// movements at any day, the same arithmetic as the totals.
    public func revenueLedger(of organizationID: String) throws -> RevenueLedger? {
        guard let history = try customerHistory(of: organizationID), let code = history.currency else { return nil }
        return RevenueLedger(currency: try Currency(code), history: history)
    }

    /// Every organization's revenue history: signup, MRR per subscription, movements, trials.
    public func customerHistories() throws -> [CustomerHistory] {
        try projections.read(MRRProjector.name) { try MRRProjector.histories(in: $0) }
    }

    public func customerHistory(of organizationID: String) throws -> CustomerHistory? {
        try projections.read(MRRProjector.name) { try MRRProjector.history(of: organizationID, in: $0) }
    }

    /// Usage revenue invoiced per currency and UTC day (the last day of the service each line
    /// bills): reported apart from MRR.
    public func dailyUsageRevenue() throws -> [String: [Int32: Int64]] {
        try projections.read(MRRProjector.name) { try MRRProjector.metered(in: $0) }
    }

    /// One organization's usage revenue per UTC day, by the same rule, from its invoices.
    public func dailyUsageRevenue(of organizationID: String) throws -> [Int32: Int64] {
        try invoices(of: organizationID).reduce(into: [:]) { byDay, invoice in
            byDay.merge(MRRProjector.usageRevenue(of: invoice), uniquingKeysWith: +)
        }
    }

    /// Retention by signup month for one currency's customers, through `lastDay`.
    public func cohorts(currency: Currency, through lastDay: Int32) throws -> CohortTable {
        CohortTable(currency: currency, histories: try customerHistories(), through: lastDay)
    }

    /// Trial-to-paid conversion by the month trials started.
    public func trialConversion() throws -> TrialConversion {
        TrialConversion(histories: try customerHistories())
    }
}
