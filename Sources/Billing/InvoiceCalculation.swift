/// What one billing period of one subscription costs, line by line, exactly: the pure
/// calculation a billing run stores in its invoice events (so replay never recomputes).
///
/// Order of work, each step rounded on its own line with `rounding`:
/// 1. the recurring fee, the recurring discount on it, if any, and the proration lines of
///    plan changes in the period (prorations are not discounted);
/// 2. one usage line per metric: usage above the included quantity (the contract's, if any),
///    priced with the contract's or the plan's model; then one line per metric of each earlier
///    period whose usage changed after its invoice was finalized (late usage), the difference
///    between the price of the usage now and the price billed;
/// 3. the volume discount on the spend so far (the highest threshold reached, on all of it);
/// 4. the true-up to the minimum commitment, if the spend after discount falls short;
/// 5. tax on every line (per line, never on the total), as the tax treatment says.
public struct InvoiceCalculation: Sendable, Hashable {
    public let currency: Currency
    public let lines: [InvoiceLine]
    public let treatment: TaxTreatment

    /// One metric's usage in the period, and how it is priced.
    public struct Usage: Sendable, Hashable {
        public var terms: Plan.MetricTerms
        public var quantity: Int64

        public init(terms: Plan.MetricTerms, quantity: Int64) {
            self.terms = terms
            self.quantity = quantity
        }
    }

    /// Usage of an earlier period that changed after its invoice: `billedQuantity` was billed
    /// (at the terms and contract of that period), `quantity` is the usage now.
    public struct LateUsage: Sendable, Hashable {
        public var terms: Plan.MetricTerms
        public var contract: CustomPricing?
        public var period: BillingPeriod
        public var billedQuantity: Int64
        public var quantity: Int64

        public init(
            terms: Plan.MetricTerms, contract: CustomPricing?, period: BillingPeriod, billedQuantity: Int64,
            quantity: Int64
        ) {
            self.terms = terms
            self.contract = contract
            self.period = period
            self.billedQuantity = billedQuantity
            self.quantity = quantity
        }
    }

    public init(
        currency: Currency, recurring: [(description: String, amount: Money)],
        prorations: [(credit: Money, charge: Money)] = [],
        recurringDiscount: (description: String, amount: Money)? = nil, usage: [Usage] = [],
        lateUsage: [LateUsage] = [],
        contract: CustomPricing? = nil, treatment: TaxTreatment = .untaxed,
        taxMode: TaxMode = .exclusive, rounding: RoundingMode = .halfUp
    ) throws(BillingError) {
        var nets: [InvoiceLine] = []
        func add(_ kind: InvoiceLine.Kind, _ description: String, _ amount: Money, quantity: Int64? = nil) {
            nets.append(
                InvoiceLine(
                    kind: kind, description: description, quantity: quantity, amount: amount, tax: .zero(currency)))
        }
        for (description, amount) in recurring {
            guard amount.currency == currency else { throw .currencyMismatch(currency.code, amount.currency.code) }
            add(.recurring, description, amount)
        }
        if let (description, amount) = recurringDiscount, !amount.isZero {
            guard amount.currency == currency else { throw .currencyMismatch(currency.code, amount.currency.code) }
            add(.recurringDiscount, description, amount.isNegative ? amount : amount.negated)
        }
        for (credit, charge) in prorations {
            if !credit.isZero { add(.prorationCredit, "Unused time on the previous plan", credit) }
            if !charge.isZero { add(.prorationCharge, "Remaining time on the new plan", charge) }
        }
        for item in usage.sorted(by: { $0.terms.metric.name < $1.terms.metric.name }) {
            guard let charge = try Self.usageCharge(item.terms, contract, quantity: item.quantity, currency, rounding),
                charge.billable > 0
            else { continue }
            add(
                .usage, "\(item.terms.metric.name): \(charge.billable) above \(charge.included) included",
                charge.amount, quantity: charge.billable)
            nets[nets.count - 1].metric = item.terms.metric.name
            nets[nets.count - 1].usedQuantity = item.quantity
        }
        var spend = Money.zero(currency)
        for line in nets { spend = try spend.adding(line.amount) }
        // Late usage belongs to earlier periods: it does not count toward this period's volume
        // discount or minimum commitment.
        var late: [InvoiceLine] = []
        for item in lateUsage where item.quantity != item.billedQuantity {
            let name = item.terms.metric.name
            let now = try Self.usageCharge(item.terms, item.contract, quantity: item.quantity, currency, rounding)
            let before = try Self.usageCharge(
                item.terms, item.contract, quantity: item.billedQuantity, currency, rounding)
            guard let now, let before else { continue }
            let difference = try now.amount.subtracting(before.amount)
            guard !difference.isZero else { continue }
            let change = item.quantity - item.billedQuantity
            late.append(
                InvoiceLine(
                    kind: .lateUsage, description: "\(name): \(change > 0 ? "+" : "")\(change) late for \(item.period)",
                    quantity: now.billable - before.billable,
                    amount: difference, tax: .zero(currency), metric: name, usedQuantity: item.quantity,
                    servicePeriod: item.period))
        }
        if let contract {
            guard contract.currency == currency else { throw .currencyMismatch(currency.code, contract.currency.code) }
            let discount = try contract.volumeDiscount(on: spend, rounding)
            if !discount.isZero {
                add(.volumeDiscount, "Volume discount", discount)
                spend = try spend.adding(discount)
            }
            let trueUp = try contract.commitmentTrueUp(after: spend)
            if !trueUp.isZero { add(.commitmentTrueUp, "Minimum commitment true-up", trueUp) }
        }
        var lines: [InvoiceLine] = []
        for var line in nets + late {
            let taxed: TaxedAmount
            if case .taxed(let rate) = treatment {
                taxed = try TaxedAmount(line.amount, percent: rate.percent, mode: taxMode, rounding: rounding)
            } else {
                taxed = TaxedAmount(untaxed: line.amount)
            }
            line.amount = taxed.net
            line.tax = taxed.tax
            lines.append(line)
        }
        self.currency = currency
        self.lines = lines
        self.treatment = treatment
        func sum(_ amounts: [Money]) throws(BillingError) -> Money {
            var total = Money.zero(currency)
            for amount in amounts { total = try total.adding(amount) }
            return total
        }
        let isDiscount = { (line: InvoiceLine) in line.kind == .volumeDiscount || line.kind == .recurringDiscount }
        subtotal = try sum(lines.filter { !isDiscount($0) }.map(\.amount))
        discounts = try sum(lines.filter(isDiscount).map(\.amount))
        tax = try sum(lines.map(\.tax))
        total = try sum([subtotal, discounts, tax])
    }

    /// The sum of the lines before discounts (credits and the true-up included).
    public let subtotal: Money
    /// The discount lines' sum (zero or negative).
    public let discounts: Money
    /// The tax of all lines; one rate per invoice (`treatment`), none when untaxed or reverse charged.
    public let tax: Money
    public let total: Money

    /// The tax by rate, as the invoice shows it.
    public var taxByRate: [(rate: TaxRate, amount: Money)] {
        guard case .taxed(let rate) = treatment else { return [] }
        return [(rate, tax)]
    }

    /// One metric's charge for `quantity` used in a period: the billable quantity above the
    /// included one (the contract's, if any) priced with the contract's or the plan's model.
    /// Nil when the metric has no price.
    public static func usageCharge(
        _ terms: Plan.MetricTerms, _ contract: CustomPricing?, quantity: Int64, _ currency: Currency,
        _ rounding: RoundingMode
    ) throws(BillingError) -> (included: Int64, billable: Int64, amount: Money)? {
        let name = terms.metric.name
        guard let model = contract?.metricPrices[name] ?? terms.overagePrice else { return nil }
        let included = contract?.included[name] ?? terms.included
        let billable = max(0, quantity - included)
        return (
            included, billable,
            billable > 0 ? try model.amount(for: billable, currency: currency, rounding) : .zero(currency)
        )
    }

    /// What the customer owes: the total, never below zero (a credit balance carries forward).
    public var amountDue: Money { total.isNegative ? .zero(currency) : total }
}
