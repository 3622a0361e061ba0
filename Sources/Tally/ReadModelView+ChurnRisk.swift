import Billing
import BillingEvents
public import Foundation
import Projections
import ReadModels

extension ReadModelView {
    /// The churn-risk score of every organization that pays or is in a trial at `date`,
    /// riskiest first (ties by organization id): an organization on a free plan has no revenue
    /// to churn (`churnRisk(of:at:)` still scores it). Each score is recomputed from the read
    /// models the events keep current, so it reflects every event up to `date` (docs/METRICS.md).
    public func churnRisks(at date: Date) throws -> [OrganizationRisk] {
        try subscriptions().filter { record in
            if case .trialing = record.subscription.status { return true }
            return try MRRProjector.contribution(of: record) > 0
        }.map { try churnRisk(of: $0, at: date) }
            .sorted { ($0.risk.score, $1.organizationID) > ($1.risk.score, $0.organizationID) }
    }

    /// One organization's churn-risk score at `date`; nil when it has no subscription.
    public func churnRisk(of organizationID: String, at date: Date) throws -> OrganizationRisk? {
        try subscription(of: organizationID).map { try churnRisk(of: $0, at: date) }
    }

    private func churnRisk(of record: SubscriptionRecord, at date: Date) throws -> OrganizationRisk {
        let organizationID = record.subscription.organizationID
        let today = UTCDay.number(of: date)
        var seen = ChurnRisk.Observations()
        let (daily, users) = try projections.read(UsageRollupsProjector.name) { reader in
            (
                try UsageRollupsProjector.cells(
                    organizationID, fromDay: today - 35, toDay: today - 1, by: .day, in: reader),
                try UsageRollupsProjector.cells(
                    organizationID, fromDay: today - 28, toDay: today - 1, by: .user, in: reader)
            )
        }
        // Whole UTC days only, up to yesterday: a day still under way would look like a decline.
        for cell in daily {
            if cell.day >= today - 7 {
                seen.recentActivity += cell.rollup.events
            } else {
                seen.baselineActivity += cell.rollup.events
            }
        }
        seen.recentUsers = Int64(Set(users.filter { $0.day >= today - 14 }.map(\.member)).count)
        seen.earlierUsers = Int64(Set(users.filter { $0.day < today - 14 }.map(\.member)).count)
        let plan = try self.plan(record.subscription.planID)?.plan
        seen.metricsAvailable = plan?.metrics.count ?? 0
        seen.metricsUsed =
            Set(
                daily.filter { $0.day >= today - 30 && $0.rollup.events > 0 && plan?.metrics[$0.metric] != nil }.map(
                    \.metric)
            ).count

        switch record.subscription.status {
        case .pastDue, .grace, .unpaid: seen.inDunning = true
        default: break
        }
        let since = Int64(date.timeIntervalSince1970) - 90 * 86_400
        for invoice in try invoices(of: organizationID) {
            if let status = try invoiceStatus(invoice.invoiceID), status.failedAttempts > 0,
                status.firstFailureAt >= since
            {
                seen.recentFailedPayments += Int64(status.failedAttempts)
            }
        }
        let history = try customerHistory(of: organizationID)
        // A downgrade is a contraction by a plan change (now, or at the renewal that applied it);
        // a discount given is a contraction too, but no sign of a customer leaving.
        let downgradeCauses: Set<String> = [
            BillingEventType.planChanged.rawValue, BillingEventType.subscriptionRenewed.rawValue,
        ]
        if let contraction = history?.movements.last(where: {
            $0.movement.kind == .contraction && downgradeCauses.contains($0.cause) && $0.day <= today
                && $0.day > today - 90
        }) {
            seen.daysSinceDowngrade = Int(today - contraction.day)
        }
        if let change = record.subscription.scheduledChange, let price = record.recurringPrice,
            let next = try self.plan(change.planID)?.plan.recurringPrice(for: change.interval)
        {
            let now = try MRRMovement.monthly(price, every: record.subscription.interval)
            seen.downgradeScheduled = try MRRMovement.monthly(next, every: change.interval).minorUnits < now.minorUnits
        }
        if record.subscription.cancelsAtPeriodEnd, let end = record.currentPeriod?.end {
            seen.daysUntilCancellation = max(0, Int(UTCDay.number(of: end) - today))
        }
        if let firstPaid = history?.firstPaidDay, firstPaid <= today { seen.tenureDays = Int(today - firstPaid) }

        let mrr = try MRRProjector.contribution(of: record)
        return OrganizationRisk(
            organizationID: organizationID, planID: record.subscription.planID, status: record.subscription.status.name,
            mrr: record.recurringPrice.map { Money(minorUnits: mrr, currency: $0.currency) }, risk: ChurnRisk(seen),
            observations: seen, at: date)
    }
}
