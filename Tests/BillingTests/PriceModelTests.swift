import Billing
import Testing

@Suite("Price models")
struct PriceModelTests {
    static let tiers = [
        PriceTier(upTo: 100, unitPrice: try! ExactDecimal("0.10")),
        PriceTier(upTo: 1000, unitPrice: try! ExactDecimal("0.08")),
        PriceTier(upTo: nil, unitPrice: try! ExactDecimal("0.05")),
    ]

    func usd(_ text: String) throws -> Money { try Money(text, currency: .usd) }

    @Test("per unit: a sub-cent price times a quantity, rounded once")
    func perUnit() throws {
        let model = PriceModel.perUnit(unitPrice: try ExactDecimal("0.0015"))
        #expect(try model.amount(for: 1_234_567, currency: .usd) == usd("1851.85"))  // 1851.8505
        #expect(try model.amount(for: 3, currency: .usd) == usd("0.00"))  // 0.0045 rounds down
        #expect(try model.amount(for: 4, currency: .usd) == usd("0.01"))  // 0.006 rounds up
    }

    /// Hand-computed: graduated charges each unit at its own tier; volume charges all units at
    /// the tier the total reaches. They agree inside the first tier and part at each boundary.
    @Test(
        "graduated versus volume at the exact tier boundaries",
        arguments: [
            (Int64(1), "0.10", "0.10"),
            (100, "10.00", "10.00"),  // last unit of tier 1
            (101, "10.08", "8.08"),  // 100 × 0.10 + 1 × 0.08  |  101 × 0.08
            (1000, "82.00", "80.00"),  // 10 + 900 × 0.08  |  1000 × 0.08
            (1001, "82.05", "50.05"),  // 82 + 1 × 0.05  |  1001 × 0.05
        ])
    func graduatedVersusVolume(quantity: Int64, graduated: String, volume: String) throws {
        #expect(try PriceModel.graduated(Self.tiers).amount(for: quantity, currency: .usd) == usd(graduated))
        #expect(try PriceModel.volume(Self.tiers).amount(for: quantity, currency: .usd) == usd(volume))
    }

    @Test("flat fees apply once per tier reached (graduated) or for the tier reached (volume)")
    func flatFees() throws {
        let tiers = [
            PriceTier(upTo: 10, unitPrice: .zero, flatFee: try ExactDecimal("5")),
            PriceTier(upTo: nil, unitPrice: try ExactDecimal("1"), flatFee: try ExactDecimal("2")),
        ]
        #expect(try PriceModel.graduated(tiers).amount(for: 10, currency: .usd) == usd("5"))
        #expect(try PriceModel.graduated(tiers).amount(for: 12, currency: .usd) == usd("9"))  // 5 + 2 × 1 + 2
        #expect(try PriceModel.volume(tiers).amount(for: 12, currency: .usd) == usd("14"))  // 12 × 1 + 2
    }

    @Test(
        "package pricing rounds a started block up",
        arguments: [
            (Int64(0), "0"), (1, "2.00"), (1000, "2.00"), (1001, "4.00"), (2000, "4.00"), (2001, "6.00"),
        ])
    func package(quantity: Int64, expected: String) throws {
        let model = PriceModel.package(size: 1000, price: try ExactDecimal("2.00"))
        #expect(try model.amount(for: quantity, currency: .usd) == usd(expected))
    }

    @Test("zero units cost nothing in every model")
    func zeroQuantity() throws {
        let flat = [PriceTier(upTo: nil, unitPrice: .zero, flatFee: try ExactDecimal("9"))]
        for model in [
            PriceModel.perUnit(unitPrice: try ExactDecimal("1")), .graduated(flat), .volume(flat),
            .package(size: 5, price: try ExactDecimal("1")),
        ] {
            #expect(try model.amount(for: 0, currency: .usd).isZero)
        }
    }

    @Test("zero-decimal and three-decimal currencies round to their own minor unit")
    func otherCurrencies() throws {
        let model = PriceModel.perUnit(unitPrice: try ExactDecimal("0.35"))
        #expect(try model.amount(for: 3, currency: .jpy) == Money("1", currency: .jpy))  // 1.05 yen
        #expect(try model.amount(for: 5, currency: .jpy) == Money("2", currency: .jpy))  // 1.75 yen
        #expect(
            try PriceModel.perUnit(unitPrice: try ExactDecimal("0.0035")).amount(for: 3, currency: .kwd)
                == Money("0.011", currency: .kwd))  // 0.0105
    }

    @Test("invalid models and quantities are refused with the field named")
    func invalid() throws {
        #expect(throws: BillingError.invalid(field: "quantity", rule: "must not be negative, got -1")) {
            try PriceModel.perUnit(unitPrice: .zero).amount(for: -1, currency: .usd)
        }
        #expect(throws: BillingError.invalid(field: "price.package_size", rule: "must be at least 1, got 0")) {
            try PriceModel.package(size: 0, price: .zero).validate()
        }
        let unordered = [
            PriceTier(upTo: 100, unitPrice: .zero), PriceTier(upTo: 50, unitPrice: .zero),
            PriceTier(upTo: nil, unitPrice: .zero),
        ]
        #expect(throws: BillingError.self) { try PriceModel.graduated(unordered).validate() }
        let boundedLast = [PriceTier(upTo: 100, unitPrice: .zero)]
        #expect(
            throws: BillingError.invalid(field: "price.tiers[0].up_to", rule: "the last tier must have no upper bound")
        ) {
            try PriceModel.volume(boundedLast).validate()
        }
        #expect(throws: BillingError.self) { try PriceModel.perUnit(unitPrice: try ExactDecimal("-1")).validate() }
        #expect(throws: BillingError.self) { try PriceModel.graduated([]).validate() }
    }
}
