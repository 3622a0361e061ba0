/// A tax rate of one jurisdiction: a country ("DE") or a US state ("US-CA").
public struct TaxRate: Sendable, Hashable, Codable {
    /// ISO 3166-1 alpha-2, optionally with a subdivision: "DE", "US-CA".
    public var jurisdiction: String
    /// What the invoice calls it: "VAT", "Sales tax", "GST".
    public var name: String
    /// Percent, such as "19" or "7.25".
    public var percent: ExactDecimal

    public init(jurisdiction: String, name: String, percent: ExactDecimal) {
        self.jurisdiction = jurisdiction
        self.name = name
        self.percent = percent
    }

    public func validate() throws(BillingError) {
        guard !percent.isNegative, percent <= ExactDecimal(100) else {
            throw .invalid(field: "tax_rates.\(jurisdiction).percent", rule: "must be from 0 to 100, got \(percent)")
        }
        guard !name.isEmpty else { throw .invalid(field: "tax_rates.\(jurisdiction).name", rule: "must not be empty") }
    }
}

/// Whether a price already includes tax.
public enum TaxMode: String, Sendable, Hashable, Codable {
    /// Tax is added on top of the price (B2B, US sales tax).
    case exclusive
    /// The price is what the customer pays; the tax is the part of it above the net (EU B2C).
    case inclusive
}

/// How one invoice is taxed, decided once per invoice from the seller and the customer.
public enum TaxTreatment: Sendable, Hashable {
    /// Tax at `rate` on every taxable line.
    case taxed(TaxRate)
    /// EU business-to-business across borders: no VAT charged; the customer accounts for it.
    /// The invoice carries the customer's VAT id and a reverse-charge note.
    case reverseCharge(customerVATID: String)
    /// No rate for the customer's jurisdiction: nothing charged.
    case untaxed

    /// The note the invoice must carry, if any.
    public var note: String? {
        if case .reverseCharge(let id) = self {
            return
                "Reverse charge: VAT to be accounted for by the recipient (Article 196, Council Directive 2006/112/EC). Customer VAT ID: \(id)"
        }
        return nil
    }
}
