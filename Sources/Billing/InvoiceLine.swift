/// One line of an invoice, net of tax.
public struct InvoiceLine: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Hashable, Codable {
        case recurring
        case prorationCredit = "proration_credit"
        case prorationCharge = "proration_charge"
        case usage
        case volumeDiscount = "volume_discount"
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

    public init(kind: Kind, description: String, quantity: Int64? = nil, amount: Money, tax: Money) {
        self.kind = kind
        self.description = description
        self.quantity = quantity
        self.amount = amount
        self.tax = tax
    }
}
