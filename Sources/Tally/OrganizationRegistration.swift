public import Billing
import BillingEvents

/// A new tenant, as `Engine.register(_:at:)` takes it.
public struct OrganizationRegistration: Sendable, Hashable {
    public var id: String
    public var name: String
    public var billingEmail: String
    /// ISO 3166-1 alpha-2, such as "DE", optionally with a subdivision: "US-CA".
    public var country: String
    public var taxID: String
    public var currency: Currency
    /// A payment-gateway token such as "pm_card_visa"; empty when none is on file. A trial
    /// converts at its end only with one on file.
    public var paymentMethod: String

    public init(
        id: String, name: String, billingEmail: String, country: String, taxID: String = "", currency: Currency,
        paymentMethod: String = ""
    ) {
        self.id = id
        self.name = name
        self.billingEmail = billingEmail
        self.country = country
        self.taxID = taxID
        self.currency = currency
        self.paymentMethod = paymentMethod
    }

    func validate() throws(EngineError) {
        try Self.validateID(id)
        try Self.validate(
            name: name, billingEmail: billingEmail, country: country, taxID: taxID, paymentMethod: paymentMethod)
    }

    static func validateID(_ id: String) throws(EngineError) {
        guard (1...128).contains(id.utf8.count), id != BillingEventType.systemOrganizationID,
            id.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F })
        else {
            throw .invalid(
                field: "id",
                rule:
                    "must be 1 to 128 printable ASCII characters without spaces, and not \"system\", got \"\(id.prefix(40))\""
            )
        }
    }

    /// The rules registrations and updates share.
    static func validate(name: String, billingEmail: String, country: String, taxID: String, paymentMethod: String)
        throws(EngineError)
    {
        guard (1...200).contains(name.count), !name.contains(where: \.isNewline) else {
            throw .invalid(field: "name", rule: "must be 1 to 200 characters on one line")
        }
        let parts = billingEmail.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[1].contains("."), billingEmail.utf8.count <= 254,
            !billingEmail.contains(where: { $0.isWhitespace })
        else {
            throw .invalid(
                field: "billing_email",
                rule: "must be an address such as billing@example.com, got \"\(billingEmail.prefix(80))\"")
        }
        let countryParts = country.split(separator: "-", omittingEmptySubsequences: false)
        let isCode = { (part: Substring, lengths: ClosedRange<Int>) in
            lengths.contains(part.count)
                && part.allSatisfy { ($0.isUppercase && $0.isASCII) || ($0.isNumber && $0.isASCII) }
        }
        guard (1...2).contains(countryParts.count), isCode(countryParts[0], 2...2),
            countryParts[0].allSatisfy(\.isLetter),
            countryParts.count == 1 || isCode(countryParts[1], 1...3)
        else {
            throw .invalid(
                field: "country",
                rule:
                    "must be an ISO 3166-1 alpha-2 code such as DE, or with a subdivision such as US-CA, got \"\(country.prefix(20))\""
            )
        }
        guard taxID.utf8.count <= 64 else { throw .invalid(field: "tax_id", rule: "must be at most 64 bytes") }
        guard paymentMethod.utf8.count <= 128, !paymentMethod.contains(where: { $0.isWhitespace }) else {
            throw .invalid(field: "payment_method", rule: "must be a gateway token of at most 128 bytes without spaces")
        }
    }
}

/// Changes to an organization's details, as `Engine.updateOrganization(_:_:at:)` takes them:
/// nil leaves a field as it is. The billing currency cannot change (open invoices are in it).
public struct OrganizationUpdate: Sendable, Hashable {
    public var name: String?
    public var billingEmail: String?
    public var country: String?
    public var taxID: String?
    /// "" removes the payment method on file.
    public var paymentMethod: String?

    public init(
        name: String? = nil, billingEmail: String? = nil, country: String? = nil, taxID: String? = nil,
        paymentMethod: String? = nil
    ) {
        self.name = name
        self.billingEmail = billingEmail
        self.country = country
        self.taxID = taxID
        self.paymentMethod = paymentMethod
    }

    var isEmpty: Bool { name == nil && billingEmail == nil && country == nil && taxID == nil && paymentMethod == nil }
}
