import Billing
import Foundation
import Projections
import ReadModels

extension Engine {
    /// The recurring price an organization pays for `plan` per `interval` in the period
    /// starting at `date`: its enterprise contract's price when the contract covers that date,
    /// is for this plan and bills at this interval; otherwise the plan's own price.
    static func recurringPrice(
        of plan: Plan, interval: BillingInterval, for organizationID: String, at date: Date, catalog: ProjectionReader
    ) throws -> Money {
        if let contract = try CatalogProjector.contract(of: organizationID, in: catalog), contract.isInEffect(at: date),
            contract.basePlanID == plan.id, contract.interval == interval, let price = contract.recurringPrice
        {
            return price
        }
        do throws(BillingError) { return try plan.recurringPrice(for: interval) } catch {
            throw EngineError.invalid(field: "interval", rule: Self.rule(of: error))
        }
    }
}
