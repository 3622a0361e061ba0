public import Billing

/// A new tenant, as `Engine.register(_:at:)` takes it.
public struct OrganizationRegistration: Sendable, Hashable {
    public var id: String
    public var name: String
    public var billingEmail: String
    /// ISO 3166-1 alpha-2, such as "DE", optionally with a subdivision: "US-CA".
    public var country: String
    public var taxID: String
    public var currency: Currency

    public init(id: String, name: String, billingEmail: String, country: String, taxID: String = "", currency: Currency) {
        self.id = id
        self.name = name
        self.billingEmail = billingEmail
        self.country = country
        self.taxID = taxID
        self.currency = currency
    }

    func validate() throws(EngineError) {
        guard (1...200).contains(name.count), !name.contains(where: \.isNewline) else {
            throw .invalid(field: "name", rule: "must be 1 to 200 characters on one line")
        }
        let parts = billingEmail.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[1].contains("."), billingEmail.utf8.count <= 254,
            !billingEmail.contains(where: { $0.isWhitespace })
        else {
            throw .invalid(field: "billing_email", rule: "must be an address such as billing@example.com, got \"\(billingEmail.prefix(80))\"")
        }
        let countryParts = country.split(separator: "-", omittingEmptySubsequences: false)
        let isCode = { (part: Substring, lengths: ClosedRange<Int>) in
            lengths.contains(part.count) && part.allSatisfy { ($0.isUppercase && $0.isASCII) || ($0.isNumber && $0.isASCII) }
        }
        guard (1...2).contains(countryParts.count), isCode(countryParts[0], 2...2), countryParts[0].allSatisfy(\.isLetter),
            countryParts.count == 1 || isCode(countryParts[1], 1...3)
        else {
            throw .invalid(field: "country", rule: "must be an ISO 3166-1 alpha-2 code such as DE, or with a subdivision such as US-CA, got \"\(country.prefix(20))\"")
        }
        guard taxID.utf8.count <= 64 else { throw .invalid(field: "tax_id", rule: "must be at most 64 bytes") }
    }
}
