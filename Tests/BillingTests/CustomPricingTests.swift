import Billing
import Foundation
import Testing

@Suite("Enterprise contracts")
struct CustomPricingTests {
    static func contract() throws -> CustomPricing {
        try CustomPricing(
            organizationID: "org_big", basePlanID: "enterprise", currency: .usd, interval: .everyMonths(6),
            recurringPrice: Money("12000", currency: .usd),
            metricPrices: ["api_calls": .perUnit(unitPrice: ExactDecimal("0.00005"))],
            included: ["api_calls": 50_000_000],
            minimumCommitment: Money("15000", currency: .usd),
            volumeDiscounts: [
                .init(threshold: Money("10000", currency: .usd), percentOff: ExactDecimal("5")),
                .init(threshold: Money("20000", currency: .usd), percentOff: ExactDecimal("7.5")),
            ],
            contractStart: BillingScheduleTests.date("2025-01-01T00:00:00Z"),
            contractEnd: BillingScheduleTests.date("2027-01-01T00:00:00Z"))
    }

    @Test("the highest threshold reached discounts the whole spend; below the first, nothing")
    func volumeDiscounts() throws {
        let contract = try Self.contract()
        try contract.validate()
        #expect(try contract.volumeDiscount(on: Money("9999.99", currency: .usd)).isZero)
        #expect(try contract.volumeDiscount(on: Money("10000", currency: .usd)) == Money("-500", currency: .usd))
        // 21,234.57 × 7.5% = 1,592.59275 → 1,592.59
        #expect(try contract.volumeDiscount(on: Money("21234.57", currency: .usd)) == Money("-1592.59", currency: .usd))
    }

    @Test("a shortfall against the minimum commitment becomes a true-up; meeting it costs nothing")
    func trueUp() throws {
        let contract = try Self.contract()
        #expect(try contract.commitmentTrueUp(after: Money("12000", currency: .usd)) == Money("3000", currency: .usd))
        #expect(try contract.commitmentTrueUp(after: Money("15000", currency: .usd)).isZero)
        #expect(try contract.commitmentTrueUp(after: Money("16000", currency: .usd)).isZero)
    }

    @Test("the term is start-inclusive and end-exclusive")
    func term() throws {
        let contract = try Self.contract()
        #expect(contract.isInEffect(at: BillingScheduleTests.date("2025-01-01T00:00:00Z")))
        #expect(!contract.isInEffect(at: BillingScheduleTests.date("2027-01-01T00:00:00Z")))
    }

    @Test("bad contracts are refused with the field named")
    func validation() throws {
        var contract = try Self.contract()
        contract.volumeDiscounts[1].threshold = try Money("5000", currency: .usd)
        #expect(throws: BillingError.self) { try contract.validate() }

        contract = try Self.contract()
        contract.volumeDiscounts[0].percentOff = try ExactDecimal("120")
        #expect(
            throws: BillingError.invalid(
                field: "volume_discounts[0].percent_off", rule: "must be greater than 0 and at most 100, got 120")
        ) {
            try contract.validate()
        }

        contract = try Self.contract()
        contract.contractEnd = contract.contractStart
        #expect(throws: BillingError.invalid(field: "contract_end", rule: "must be after contract_start")) {
            try contract.validate()
        }

        contract = try Self.contract()
        contract.minimumCommitment = Money(minorUnits: 1, currency: .eur)
        #expect(throws: BillingError.currencyMismatch("USD", "EUR")) { try contract.validate() }
    }
}
