/// The tax rates a seller charges, by jurisdiction, and the rule choosing one for a customer.
///
/// A customer in "US-CA" is taxed at the "US-CA" rate if there is one, else at the "US" rate;
/// a customer in "DE" at the "DE" rate. With none, nothing is charged. A seller in the EU
/// selling to a business in another EU country (it has a VAT id) charges no VAT: reverse
/// charge.
///
/// ```swift
/// let table = try TaxTable(sellerCountry: "DE", rates: [
///     TaxRate(jurisdiction: "DE", name: "VAT", percent: ExactDecimal("19")),
///     TaxRate(jurisdiction: "US-NY", name: "Sales tax", percent: ExactDecimal("8.875")),
/// ])
/// table.treatment(country: "FR", taxID: "FR40303265045")   // .reverseCharge
/// ```
public struct TaxTable: Sendable, Hashable {
    public let sellerCountry: String
    public let rates: [String: TaxRate]
    /// Whether the seller's prices include tax (EU B2C) or have it added (the default).
    public let prices: TaxMode

    /// The member states of the European Union (ISO 3166-1 alpha-2; Greece is "GR").
    public static let euCountries: Set<String> = [
        "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV", "LT", "LU",
        "MT", "NL", "PL", "PT",
        "RO", "SK", "SI", "ES", "SE",
    ]

    public init(sellerCountry: String, rates: [TaxRate], prices: TaxMode = .exclusive) throws(BillingError) {
        var byJurisdiction: [String: TaxRate] = [:]
        for rate in rates {
            try rate.validate()
            guard byJurisdiction.updateValue(rate, forKey: rate.jurisdiction) == nil else {
                throw .invalid(field: "tax_rates.\(rate.jurisdiction)", rule: "is given twice")
            }
        }
        self.sellerCountry = sellerCountry
        self.rates = byJurisdiction
        self.prices = prices
    }

    /// How an invoice to a customer in `country` (ISO code, maybe with a subdivision) with tax
    /// id `taxID` (empty for a consumer) is taxed.
    public func treatment(country: String, taxID: String) -> TaxTreatment {
        let customerCountry = String(country.prefix { $0 != "-" })
        if Self.euCountries.contains(sellerCountry), Self.euCountries.contains(customerCountry),
            customerCountry != sellerCountry, !taxID.isEmpty
        {
            return .reverseCharge(customerVATID: taxID)
        }
        if let rate = rates[country] ?? rates[customerCountry] { return .taxed(rate) }
        return .untaxed
    }
}
