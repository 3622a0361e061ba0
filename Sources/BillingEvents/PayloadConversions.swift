public import Billing
import Foundation
import SwiftProtobuf

// Conversions between the domain's values and their event payloads. Encoding cannot fail;
// decoding validates everything and throws `BillingError` naming the payload field, because
// a payload may come from an older version or from a hand-written `tally append` line.

extension Tally_V1_Money {
    public init(_ money: Money) {
        self.init()
        minorUnits = money.minorUnits
        currency = money.currency.code
    }

    public func decoded(field: String) throws(BillingError) -> Money {
        do {
            return Money(minorUnits: minorUnits, currency: try Currency(currency))
        } catch {
            throw error.relabeled("\(field).currency")
        }
    }
}

extension Tally_V1_Interval {
    public init(_ interval: BillingInterval) {
        self.init()
        switch interval {
        case .monthly: kind = .monthly
        case .quarterly: kind = .quarterly
        case .annual: kind = .annual
        case .everyMonths(let months):
            kind = .custom
            self.months = UInt32(clamping: months)
        }
    }

    public func decoded(field: String) throws(BillingError) -> BillingInterval {
        let interval: BillingInterval
        switch kind {
        case .monthly: interval = .monthly
        case .quarterly: interval = .quarterly
        case .annual: interval = .annual
        case .custom: interval = .everyMonths(Int(months))
        case .unspecified, .UNRECOGNIZED:
            throw .invalid(field: field, rule: "must be monthly, quarterly, annual or custom")
        }
        do {
            try interval.validate()
        } catch {
            throw error.relabeled(field)
        }
        return interval
    }
}

extension Tally_V1_PriceModel {
    public init(_ model: PriceModel) {
        self.init()
        func tiers(_ tiers: [PriceTier]) -> Tally_V1_PriceModel.Tiered {
            .with {
                $0.tiers = tiers.map { tier in
                    Tally_V1_PriceTier.with {
                        if let upTo = tier.upTo { $0.upTo = upTo }
                        $0.unitPrice = tier.unitPrice.description
                        $0.flatFee = tier.flatFee.description
                    }
                }
            }
        }
        switch model {
        case .perUnit(let price): perUnit = .with { $0.unitPrice = price.description }
        case .graduated(let list): graduated = tiers(list)
        case .volume(let list): volume = tiers(list)
        case .package(let size, let price):
            package = .with {
                $0.size = size
                $0.price = price.description
            }
        }
    }

    public func decoded(field: String) throws(BillingError) -> PriceModel {
        func tiers(_ tiered: Tally_V1_PriceModel.Tiered) throws(BillingError) -> [PriceTier] {
            var result: [PriceTier] = []
            for (index, tier) in tiered.tiers.enumerated() {
                let tierField = "\(field).tiers[\(index)]"
                result.append(
                    PriceTier(
                        upTo: tier.hasUpTo ? tier.upTo : nil,
                        unitPrice: try ExactDecimal(tier.unitPrice, field: "\(tierField).unit_price"),
                        flatFee: tier.flatFee.isEmpty
                            ? .zero : try ExactDecimal(tier.flatFee, field: "\(tierField).flat_fee")))
            }
            return result
        }
        let model: PriceModel
        switch self.model {
        case .perUnit(let perUnit)?:
            model = .perUnit(unitPrice: try ExactDecimal(perUnit.unitPrice, field: "\(field).per_unit.unit_price"))
        case .graduated(let tiered)?: model = .graduated(try tiers(tiered))
        case .volume(let tiered)?: model = .volume(try tiers(tiered))
        case .package(let package)?:
            model = .package(
                size: package.size, price: try ExactDecimal(package.price, field: "\(field).package.price"))
        case nil: throw .invalid(field: field, rule: "must be per_unit, graduated, volume or package")
        }
        try model.validate(field: field)
        return model
    }
}

extension Metric.Aggregation {
    /// The aggregation as payloads carry it, and for a unique count the property counted.
    public var wire: (aggregation: Tally_V1_Aggregation, uniqueProperty: String) {
        switch self {
        case .sum: (.sum, "")
        case .count: (.count, "")
        case .max: (.max, "")
        case .uniqueCount(let property): (.uniqueCount, property)
        case .latest: (.latest, "")
        }
    }
}

extension Tally_V1_MetricTerms {
    public init(_ terms: Plan.MetricTerms) {
        self.init()
        metric = terms.metric.name
        (aggregation, uniqueProperty) = terms.metric.aggregation.wire
        included = terms.included
        if let price = terms.overagePrice { overagePrice = Tally_V1_PriceModel(price) }
        if let soft = terms.softLimit { softLimit = soft }
        if let hard = terms.hardLimit { hardLimit = hard }
    }

    public func decoded(field: String) throws(BillingError) -> Plan.MetricTerms {
        let aggregation: Metric.Aggregation
        switch self.aggregation {
        case .sum: aggregation = .sum
        case .count: aggregation = .count
        case .max: aggregation = .max
        case .uniqueCount: aggregation = .uniqueCount(property: uniqueProperty)
        case .latest: aggregation = .latest
        case .unspecified, .UNRECOGNIZED:
            throw .invalid(field: "\(field).aggregation", rule: "must be sum, count, max, unique_count or latest")
        }
        return Plan.MetricTerms(
            metric: try Metric(metric, aggregation: aggregation), included: included,
            overagePrice: hasOveragePrice ? try overagePrice.decoded(field: "\(field).overage_price") : nil,
            softLimit: hasSoftLimit ? softLimit : nil, hardLimit: hasHardLimit ? hardLimit : nil)
    }
}

extension Tally_V1_PlanSpec {
    public init(_ plan: Plan) {
        self.init()
        planID = plan.id
        name = plan.name
        tier =
            switch plan.tier {
            case .free: .free
            case .professional: .professional
            case .enterprise: .enterprise
            case .custom: .custom
            }
        currency = plan.currency.code
        if let price = plan.monthlyPrice { monthlyPrice = Tally_V1_Money(price) }
        if let price = plan.annualPrice { annualPrice = Tally_V1_Money(price) }
        trialDays = UInt32(clamping: plan.trialDays)
        features = plan.features.sorted()  // sorted: the same plan always encodes the same bytes
        metrics = plan.metrics.keys.sorted().map { Tally_V1_MetricTerms(plan.metrics[$0]!) }
    }

    /// The plan, validated as `Plan.validate` does.
    public func decoded() throws(BillingError) -> Plan {
        let tier: Plan.Tier
        switch self.tier {
        case .free: tier = .free
        case .professional: tier = .professional
        case .enterprise: tier = .enterprise
        case .custom: tier = .custom
        case .unspecified, .UNRECOGNIZED:
            throw .invalid(field: "plan.tier", rule: "must be free, professional, enterprise or custom")
        }
        let currency: Currency
        do { currency = try Currency(self.currency) } catch { throw error.relabeled("plan.currency") }
        var terms: [Plan.MetricTerms] = []
        for (index, metric) in metrics.enumerated() {
            terms.append(try metric.decoded(field: "plan.metrics[\(index)]"))
        }
        let plan = Plan(
            id: planID, name: name, tier: tier, currency: currency,
            monthlyPrice: hasMonthlyPrice ? try monthlyPrice.decoded(field: "plan.monthly_price") : nil,
            annualPrice: hasAnnualPrice ? try annualPrice.decoded(field: "plan.annual_price") : nil,
            trialDays: Int(trialDays), features: Set(features), metrics: terms)
        try plan.validate()
        return plan
    }
}

extension Tally_V1_CustomPricingAgreed {
    public init(_ contract: CustomPricing) {
        self.init()
        basePlanID = contract.basePlanID
        currency = contract.currency.code
        interval = Tally_V1_Interval(contract.interval)
        if let price = contract.recurringPrice { recurringPrice = Tally_V1_Money(price) }
        metricPrices = contract.metricPrices.mapValues(Tally_V1_PriceModel.init)
        included = contract.included
        if let minimum = contract.minimumCommitment { minimumCommitment = Tally_V1_Money(minimum) }
        volumeDiscounts = contract.volumeDiscounts.map { discount in
            .with {
                $0.threshold = Tally_V1_Money(discount.threshold)
                $0.percentOff = discount.percentOff.description
            }
        }
        contractStart = Google_Protobuf_Timestamp(date: contract.contractStart)
        contractEnd = Google_Protobuf_Timestamp(date: contract.contractEnd)
    }

    /// The contract for `organizationID` (the envelope's), validated.
    public func decoded(organizationID: String) throws(BillingError) -> CustomPricing {
        let currency: Currency
        do { currency = try Currency(self.currency) } catch { throw error.relabeled("custom_pricing.currency") }
        var prices: [String: PriceModel] = [:]
        for (name, model) in metricPrices.sorted(by: { $0.key < $1.key }) {
            prices[name] = try model.decoded(field: "custom_pricing.metric_prices.\(name)")
        }
        var discounts: [CustomPricing.VolumeDiscount] = []
        for (index, discount) in volumeDiscounts.enumerated() {
            let field = "custom_pricing.volume_discounts[\(index)]"
            discounts.append(
                .init(
                    threshold: try discount.threshold.decoded(field: "\(field).threshold"),
                    percentOff: try ExactDecimal(discount.percentOff, field: "\(field).percent_off")))
        }
        let contract = CustomPricing(
            organizationID: organizationID, basePlanID: basePlanID, currency: currency,
            interval: try interval.decoded(field: "custom_pricing.interval"),
            recurringPrice: hasRecurringPrice
                ? try recurringPrice.decoded(field: "custom_pricing.recurring_price") : nil,
            metricPrices: prices, included: included,
            minimumCommitment: hasMinimumCommitment
                ? try minimumCommitment.decoded(field: "custom_pricing.minimum_commitment") : nil,
            volumeDiscounts: discounts, contractStart: contractStart.date, contractEnd: contractEnd.date)
        try contract.validate()
        return contract
    }
}

extension BillingError {
    /// The same rule, reported against the payload field the value came from.
    func relabeled(_ field: String) -> BillingError {
        if case .invalid(_, let rule) = self { return .invalid(field: field, rule: rule) }
        return self
    }
}

extension Tally_V1_DiscountApplied {
    public init(_ discount: RecurringDiscount, subscriptionID: String) {
        self.init()
        self.subscriptionID = subscriptionID
        discountID = discount.id
        switch discount.value {
        case .percentOff(let percent): percentOff = percent.description
        case .amountOff(let amount): amountOff = Tally_V1_Money(amount)
        }
        periods = UInt32(discount.periodsLeft ?? 0)
    }

    public func decoded() throws(BillingError) -> RecurringDiscount {
        let value: RecurringDiscount.Value
        switch (percentOff.isEmpty, hasAmountOff) {
        case (false, false): value = .percentOff(try ExactDecimal(percentOff, field: "percent_off"))
        case (true, true): value = .amountOff(try amountOff.decoded(field: "amount_off"))
        default: throw .invalid(field: "percent_off", rule: "exactly one of percent_off and amount_off must be set")
        }
        return RecurringDiscount(id: discountID, value: value, periods: periods == 0 ? nil : Int(periods))
    }
}
