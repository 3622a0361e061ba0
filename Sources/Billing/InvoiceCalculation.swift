/// What one billing period of one subscription costs, line by line, exactly: the pure
/// calculation a billing run stores in its invoice events (so replay never recomputes).
///
/// Order of work, each step rounded on its own line with `rounding`:
/// 1. the recurring fee and the proration lines of plan changes in the period;
/// 2. one usage line per metric: usage above the included quantity (the contract's, if any),
///    priced with the contract's or the plan's model;
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

    public init(
        currency: Currency, recurring: [(description: String, amount: Money)], prorations: [(credit: Money, charge: Money)] = [],
        usage: [Usage] = [], contract: CustomPricing? = nil, treatment: TaxTreatment = .untaxed, taxMode: TaxMode = .exclusive,
        rounding: RoundingMode = .halfUp
    ) throws(BillingError) {
        var nets: [(InvoiceLine.Kind, String, Int64?, Money)] = []
        for (description, amount) in recurring {
            guard amount.currency == currency else { throw .currencyMismatch(currency.code, amount.currency.code) }
            nets.append((.recurring, description, nil, amount))
        }
        for (credit, charge) in prorations {
            if !credit.isZero { nets.append((.prorationCredit, "Unused time on the previous plan", nil, credit)) }
            if !charge.isZero { nets.append((.prorationCharge, "Remaining time on the new plan", nil, charge)) }
        }
        for item in usage.sorted(by: { $0.terms.metric.name < $1.terms.metric.name }) {
            let name = item.terms.metric.name
            let included = contract?.included[name] ?? item.terms.included
            let billable = max(0, item.quantity - included)
            guard let model = contract?.metricPrices[name] ?? item.terms.overagePrice, billable > 0 else { continue }
            nets.append((.usage, "\(name): \(billable) above \(included) included", billable, try model.amount(for: billable, currency: currency, rounding)))
        }
        var spend = Money.zero(currency)
        for line in nets { spend = try spend.adding(line.3) }
        if let contract {
            guard contract.currency == currency else { throw .currencyMismatch(currency.code, contract.currency.code) }
            let discount = try contract.volumeDiscount(on: spend, rounding)
            if !discount.isZero {
                nets.append((.volumeDiscount, "Volume discount", nil, discount))
                spend = try spend.adding(discount)
            }
            let trueUp = try contract.commitmentTrueUp(after: spend)
            if !trueUp.isZero { nets.append((.commitmentTrueUp, "Minimum commitment true-up", nil, trueUp)) }
        }
        var lines: [InvoiceLine] = []
        for (kind, description, quantity, amount) in nets {
            let taxed: TaxedAmount
            if case .taxed(let rate) = treatment {
                taxed = try TaxedAmount(amount, percent: rate.percent, mode: taxMode, rounding: rounding)
            } else {
                taxed = TaxedAmount(untaxed: amount)
            }
            lines.append(InvoiceLine(kind: kind, description: description, quantity: quantity, amount: taxed.net, tax: taxed.tax))
        }
        self.currency = currency
        self.lines = lines
        self.treatment = treatment
        func sum(_ amounts: [Money]) throws(BillingError) -> Money {
            var total = Money.zero(currency)
            for amount in amounts { total = try total.adding(amount) }
            return total
        }
        subtotal = try sum(lines.filter { $0.kind != .volumeDiscount }.map(\.amount))
        discounts = try sum(lines.filter { $0.kind == .volumeDiscount }.map(\.amount))
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

    /// What the customer owes: the total, never below zero (a credit balance carries forward).
    public var amountDue: Money { total.isNegative ? .zero(currency) : total }
}
