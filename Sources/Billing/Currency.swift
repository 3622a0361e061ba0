/// An ISO 4217 currency and its minor-unit exponent (USD 2: cents; JPY 0; KWD 3: fils).
public struct Currency: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The three-letter ISO 4217 code, upper case.
    public let code: String
    /// How many decimal places the minor unit has.
    public let exponent: Int

    /// The currency with ISO 4217 `code` (case-insensitive).
    /// - Throws: `BillingError.invalid` for a code that is not three letters or not known.
    public init(_ code: String) throws(BillingError) {
        let upper = code.uppercased()
        guard upper.utf8.count == 3, upper.utf8.allSatisfy({ (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) })
        else {
            throw .invalid(field: "currency", rule: "must be a three-letter ISO 4217 code, got \"\(code)\"")
        }
        guard let exponent = Self.exponents[upper] else {
            throw .invalid(field: "currency", rule: "\"\(upper)\" is not a supported ISO 4217 currency")
        }
        self.code = upper
        self.exponent = exponent
    }

    public var description: String { code }

    public static let usd = try! Currency("USD")
    public static let eur = try! Currency("EUR")
    public static let gbp = try! Currency("GBP")
    public static let jpy = try! Currency("JPY")
    public static let kwd = try! Currency("KWD")

    /// Minor-unit exponents from ISO 4217 for the currencies Tally bills in. Currencies whose
    /// exponent is not 2 are listed by name below the common ones.
    static let exponents: [String: Int] = {
        var table: [String: Int] = [:]
        for code in [
            "AED", "ARS", "AUD", "BDT", "BGN", "BRL", "CAD", "CHF", "CNY", "COP", "CZK", "DKK", "EGP", "EUR", "GBP",
            "HKD", "HUF", "IDR", "ILS", "INR", "KES", "MAD", "MXN", "MYR", "NGN", "NOK", "NZD", "PEN", "PHP", "PKR",
            "PLN", "QAR", "RON", "RSD", "RUB", "SAR", "SEK", "SGD", "THB", "TRY", "TWD", "UAH", "USD", "ZAR",
        ] {
            table[code] = 2
        }
        // Zero-decimal currencies.
        for code in [
            "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF",
            "XPF",
        ] {
            table[code] = 0
        }
        // Three-decimal currencies.
        for code in ["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"] {
            table[code] = 3
        }
        return table
    }()
}
