/// One line of an invoice, net of tax.
public struct InvoiceLine: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Hashable, Codable {
        case recurring
        case prorationCredit = "proration_credit"
        case prorationCharge = "proration_charge"
        case usage
        /// Usage of an earlier, already invoiced period that arrived after its invoice was
        /// finalized (or a correction of it): the price difference, on the next invoice.
        case lateUsage = "late_usage"
        case volumeDiscount = "volume_discount"
        /// A recurring discount (subscription.discount_applied) taken off the recurring fee.
        case recurringDiscount = "recurring_discount"
        case commitmentTrueUp = "commitment_true_up"
    }

    public var kind: Kind
    public var description: String
    /// For usage: the billable quantity (after the included quantity). Nil otherwise.
    public var quantity: Int64?
    /// Net of tax; negative for credits and discounts.
    public var amount: Money
    /// The tax on this line, rounded on the line.
    public var tax: Money
    /// For usage lines: the metric and the period's whole usage billed with this line.
    public var metric: String?
    public var usedQuantity: Int64?
    /// For late usage: the earlier period the usage belongs to (nil: the invoice's own).
    public var servicePeriod: BillingPeriod?

    public init(
        kind: Kind, description: String, quantity: Int64? = nil, amount: Money, tax: Money, metric: String? = nil,
        usedQuantity: Int64? = nil,
        servicePeriod: BillingPeriod? = nil
    ) {
        self.kind = kind
        self.description = description
        self.quantity = quantity
        self.amount = amount
        self.tax = tax
        self.metric = metric
        self.usedQuantity = usedQuantity
        self.servicePeriod = servicePeriod
    }
}
