import Billing
import Testing

@Suite("Money and currencies")
struct MoneyTests {
    @Test("amounts parse exactly in the currency's minor unit: USD 2, JPY 0, KWD 3 decimals")
    func parsing() throws {
        #expect(try Money("12.34", currency: .usd).minorUnits == 1234)
        #expect(try Money("12.3", currency: .usd).minorUnits == 1230)
        #expect(try Money("-0.01", currency: .usd).minorUnits == -1)
        #expect(try Money("500", currency: .jpy).minorUnits == 500)
        #expect(try Money("1.234", currency: .kwd).minorUnits == 1234)
        #expect(try Money("12.340", currency: .usd).minorUnits == 1234, "trailing zeros are not extra precision")
    }

    @Test("more decimals than the currency has is an error naming the field, never a silent rounding")
    func tooPrecise() {
        #expect(
            throws: BillingError.invalid(
                field: "price", rule: "USD amounts have at most 2 decimal places, got \"12.345\"")
        ) {
            try Money("12.345", currency: .usd, field: "price")
        }
        #expect(throws: BillingError.self) { try Money("500.5", currency: .jpy) }
        #expect(throws: BillingError.self) { try Money("1.2345", currency: .kwd) }
    }

    @Test("descriptions show major units with the currency's exponent")
    func descriptions() throws {
        #expect(Money(minorUnits: 1234, currency: .usd).description == "USD 12.34")
        #expect(Money(minorUnits: 5, currency: .usd).description == "USD 0.05")
        #expect(Money(minorUnits: -5, currency: .usd).description == "USD -0.05")
        #expect(Money(minorUnits: 500, currency: .jpy).description == "JPY 500")
        #expect(Money(minorUnits: 1234, currency: .kwd).description == "KWD 1.234")
    }

    @Test("mixing currencies throws; overflow throws instead of wrapping")
    func safety() throws {
        #expect(throws: BillingError.currencyMismatch("USD", "EUR")) {
            try Money(minorUnits: 1, currency: .usd).adding(Money(minorUnits: 1, currency: .eur))
        }
        #expect(throws: BillingError.self) {
            try Money(minorUnits: .max, currency: .usd).adding(Money(minorUnits: 1, currency: .usd))
        }
        #expect(throws: BillingError.self) {
            try Money(minorUnits: .min, currency: .usd).subtracting(Money(minorUnits: 1, currency: .usd))
        }
        #expect(throws: BillingError.self) { try Money(minorUnits: .max / 2 + 1, currency: .usd).multiplied(by: 2) }
        #expect(
            try Money(minorUnits: 250, currency: .usd).adding(Money(minorUnits: -300, currency: .usd)).minorUnits == -50
        )
    }

    @Test("currency codes: ISO 4217, case-insensitive; unknown or malformed codes name the field")
    func currencies() throws {
        #expect(try Currency("usd") == .usd)
        #expect(try Currency("BHD").exponent == 3)
        #expect(try Currency("KRW").exponent == 0)
        #expect(
            throws: BillingError.invalid(field: "currency", rule: "must be a three-letter ISO 4217 code, got \"US\"")
        ) { try Currency("US") }
        #expect(throws: BillingError.invalid(field: "currency", rule: "\"XXY\" is not a supported ISO 4217 currency")) {
            try Currency("XXY")
        }
    }

    @Test("scaling rounds once, with the named mode")
    func scaling() throws {
        let price = Money(minorUnits: 1000, currency: .usd)
        #expect(try price.scaled(by: 1, over: 3, .halfUp).minorUnits == 333)
        #expect(try price.scaled(by: 2, over: 3, .halfUp).minorUnits == 667)
        #expect(try price.scaled(by: 2, over: 3, .down).minorUnits == 666)
        #expect(try Money(minorUnits: 5, currency: .usd).scaled(by: 1, over: 2, .halfEven).minorUnits == 2)
        #expect(try Money(minorUnits: 5, currency: .usd).scaled(by: 1, over: 2, .halfUp).minorUnits == 3)
        #expect(throws: BillingError.self) { try price.scaled(by: 1, over: 0, .halfUp) }
    }
}
