import Billing
import BillingEvents
import Foundation
import Projections
import ReadModels
import SwiftProtobuf

/// Turns closed billing periods into invoices: a draft when the period ends (the fee and the
/// prorations fixed then), and the final invoice when the late-usage grace has passed, with
/// the period's usage counted again and any usage of earlier, already invoiced periods that
/// changed since billed as late-usage lines.
struct InvoiceDrafting {
    let catalog: ProjectionReader
    let quotas: ProjectionReader
    let invoices: ProjectionReader
    let taxTable: TaxTable?
    let policy: BillingPolicy
    /// Billed usage changed by invoices finalized earlier in the same batch, not yet committed:
    /// subscription id → period start → billed.
    private var billedInBatch: [String: [Int64: BilledUsage]] = [:]

    init(
        catalog: ProjectionReader, quotas: ProjectionReader, invoices: ProjectionReader, taxTable: TaxTable?,
        policy: BillingPolicy
    ) {
        self.catalog = catalog
        self.quotas = quotas
        self.invoices = invoices
        self.taxTable = taxTable
        self.policy = policy
    }

    /// The draft closing `record`'s current period when its end is due at `at`; nil when no
    /// period ends then (a trial's end, a grace period running out mid-period).
    func draft(closing record: SubscriptionRecord, organizationID: String, at: Date) throws -> Tally_V1_InvoiceDrafted?
    {
        guard let period = record.currentPeriod, period.end == at,
            let price = record.periodPrice ?? record.recurringPrice
        else { return nil }
        switch record.subscription.status {
        case .active, .pastDue, .grace: break
        default: return nil
        }
        let plan = try Self.plan(record.subscription.planID, catalog)
        let end = Google_Protobuf_Timestamp(date: period.end)
        var draft = Tally_V1_InvoiceDrafted.with {
            $0.draftID = "draft-\(record.id)-\(end.seconds)"
            $0.subscriptionID = record.id
            $0.planID = plan.id
            $0.periodStart = Google_Protobuf_Timestamp(date: period.start)
            $0.periodEnd = end
            $0.recurringDescription = "\(plan.name), \(record.subscription.interval)"
            $0.recurringPrice = Tally_V1_Money(price)
            $0.prorations = record.unbilledProrations.map { proration in
                Tally_V1_ProrationAmounts.with {
                    $0.credit = Tally_V1_Money(proration.credit)
                    $0.charge = Tally_V1_Money(proration.charge)
                }
            }
            $0.finalizeAt = Google_Protobuf_Timestamp(
                date: period.end.addingTimeInterval(TimeInterval(policy.lateUsageGraceSeconds)))
        }
        if let discount = record.discount {
            do throws(BillingError) {
                let off = try discount.amount(on: price)
                if !off.isZero {
                    draft.recurringDiscount = Tally_V1_Money(off)
                    draft.recurringDiscountDescription = "Discount \(discount.id): \(discount.description)"
                }
            } catch {
                throw EngineError.invalid(field: "discount", rule: error.description)
            }
        }
        draft.preview = try invoice(finalizing: draft, organizationID: organizationID)
        return draft
    }

    /// The invoice `draft` becomes, still without its number: usage as counted now.
    func invoice(finalizing draft: Tally_V1_InvoiceDrafted, organizationID: String) throws -> Tally_V1_InvoiceIssued {
        let plan = try Self.plan(draft.planID, catalog)
        guard let organization = try CatalogProjector.organization(organizationID, in: catalog) else {
            throw EngineError.notFound("organization \(organizationID)")
        }
        let price: Money
        let prorations: [(credit: Money, charge: Money)]
        let discount: (description: String, amount: Money)?
        let period: BillingPeriod
        do throws(BillingError) {
            price = try draft.recurringPrice.decoded(field: "recurring_price")
            var amounts: [(credit: Money, charge: Money)] = []
            for proration in draft.prorations {
                amounts.append(
                    (
                        try proration.credit.decoded(field: "proration_credit"),
                        try proration.charge.decoded(field: "proration_charge")
                    ))
            }
            prorations = amounts
            discount =
                draft.hasRecurringDiscount
                ? (draft.recurringDiscountDescription, try draft.recurringDiscount.decoded(field: "recurring_discount"))
                : nil
            period = try BillingPeriod(start: draft.periodStart.date, end: draft.periodEnd.date)
        } catch {
            throw EngineError.invalid(field: "invoice", rule: error.description)
        }
        let contract = try Self.contract(
            of: organizationID, planID: plan.id, currency: price.currency, at: period.start, catalog)
        let periodStart = draft.periodStart.seconds
        var usage: [InvoiceCalculation.Usage] = []
        for (name, terms) in Self.pricedMetrics(plan, contract) {
            let quantity =
                try QuotasProjector.counter(organizationID, name, periodStart: periodStart, in: quotas)?.value ?? 0
            usage.append(.init(terms: terms, quantity: quantity))
        }
        let lateUsage = try self.lateUsage(
            of: draft.subscriptionID, organizationID: organizationID, before: periodStart, currency: price.currency)
        let treatment = taxTable?.treatment(country: organization.country, taxID: organization.taxID) ?? .untaxed
        let calculation: InvoiceCalculation
        do throws(BillingError) {
            calculation = try InvoiceCalculation(
                currency: price.currency, recurring: [(draft.recurringDescription, price)], prorations: prorations,
                recurringDiscount: discount, usage: usage,
                lateUsage: lateUsage, contract: contract, treatment: treatment, taxMode: taxTable?.prices ?? .exclusive)
        } catch {
            throw EngineError.invalid(field: "invoice", rule: error.description)
        }
        return Tally_V1_InvoiceIssued(
            calculation, treatment: treatment, draft: draft,
            series: String(Calendar.utcGregorian.component(.year, from: period.end)))
    }

    /// Remembers what a finalized invoice of this batch billed, so a later one in the same
    /// batch does not bill the same late usage again.
    mutating func noteIssued(_ invoice: Tally_V1_InvoiceIssued) throws {
        for line in invoice.lines where line.kind == InvoiceLine.Kind.lateUsage.rawValue {
            let start = line.serviceStart.seconds
            guard var billed = try billedUsage(of: invoice.subscriptionID).first(where: { $0.periodStart == start })
            else { continue }
            billed.quantities[line.metric] = line.usedQuantity
            billedInBatch[invoice.subscriptionID, default: [:]][start] = billed
        }
    }

    private func billedUsage(of subscriptionID: String) throws -> [BilledUsage] {
        let overlay = billedInBatch[subscriptionID] ?? [:]
        return try InvoicesProjector.billedUsage(of: subscriptionID, in: invoices).map { overlay[$0.periodStart] ?? $0 }
    }

    /// Every metric of every earlier invoiced period whose usage now differs from what was billed.
    private func lateUsage(
        of subscriptionID: String, organizationID: String, before periodStart: Int64, currency: Currency
    ) throws -> [InvoiceCalculation.LateUsage] {
        var late: [InvoiceCalculation.LateUsage] = []
        for billed in try billedUsage(of: subscriptionID) where billed.periodStart < periodStart {
            guard let plan = try CatalogProjector.plan(billed.planID, in: catalog)?.plan else { continue }
            let start = Date(timeIntervalSince1970: TimeInterval(billed.periodStart))
            let contract = try Self.contract(
                of: organizationID, planID: plan.id, currency: currency, at: start, catalog)
            for (name, terms) in Self.pricedMetrics(plan, contract) {
                let quantity =
                    try QuotasProjector.counter(organizationID, name, periodStart: billed.periodStart, in: quotas)?
                    .value ?? 0
                let billedQuantity = billed.quantities[name] ?? 0
                guard quantity != billedQuantity else { continue }
                do throws(BillingError) {
                    let period = try BillingPeriod(
                        start: start, end: Date(timeIntervalSince1970: TimeInterval(billed.periodEnd)))
                    late.append(
                        .init(
                            terms: terms, contract: contract, period: period, billedQuantity: billedQuantity,
                            quantity: quantity))
                } catch {
                    throw EngineError.invalid(field: "billed_period", rule: error.description)
                }
            }
        }
        return late
    }

    /// The plan's metrics that have a price (the contract's or the plan's), by name.
    private static func pricedMetrics(_ plan: Plan, _ contract: CustomPricing?) -> [(String, Plan.MetricTerms)] {
        plan.metrics.sorted { $0.key < $1.key }.filter {
            (contract?.metricPrices[$0.key] ?? $0.value.overagePrice) != nil
        }
    }

    private static func contract(
        of organizationID: String, planID: String, currency: Currency, at start: Date, _ catalog: ProjectionReader
    ) throws -> CustomPricing? {
        try CatalogProjector.contract(of: organizationID, in: catalog).flatMap {
            $0.isInEffect(at: start) && $0.basePlanID == planID && $0.currency == currency ? $0 : nil
        }
    }

    static func plan(_ id: String, _ catalog: ProjectionReader) throws -> Plan {
        guard let entry = try CatalogProjector.plan(id, in: catalog) else { throw EngineError.notFound("plan \(id)") }
        return entry.plan
    }
}

extension Tally_V1_InvoiceIssued {
    /// The invoice event for `calculation`, without its number and id (given when appended).
    init(_ calculation: InvoiceCalculation, treatment: TaxTreatment, draft: Tally_V1_InvoiceDrafted, series: String) {
        self.init()
        self.series = series
        subscriptionID = draft.subscriptionID
        planID = draft.planID
        draftID = draft.draftID
        periodStart = draft.periodStart
        periodEnd = draft.periodEnd
        currency = calculation.currency.code
        lines = calculation.lines.map { line in
            Tally_V1_InvoiceLineItem.with {
                $0.kind = line.kind.rawValue
                $0.description_p = line.description
                $0.quantity = line.quantity ?? 0
                $0.amount = Tally_V1_Money(line.amount)
                $0.tax = Tally_V1_Money(line.tax)
                $0.metric = line.metric ?? ""
                $0.usedQuantity = line.usedQuantity ?? 0
                if let period = line.servicePeriod {
                    $0.serviceStart = Google_Protobuf_Timestamp(date: period.start)
                    $0.serviceEnd = Google_Protobuf_Timestamp(date: period.end)
                }
            }
        }
        subtotal = Tally_V1_Money(calculation.subtotal)
        discounts = Tally_V1_Money(calculation.discounts)
        tax = Tally_V1_Money(calculation.tax)
        total = Tally_V1_Money(calculation.total)
        amountDue = Tally_V1_Money(calculation.amountDue)
        switch treatment {
        case .taxed(let rate):
            taxName = rate.name
            taxJurisdiction = rate.jurisdiction
            taxPercent = rate.percent.description
        case .reverseCharge(let vatID):
            reverseChargeVatID = vatID
            note = treatment.note ?? ""
        case .untaxed:
            break
        }
    }
}
