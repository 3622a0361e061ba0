import Billing
import BillingEvents
import Foundation
import SwiftProtobuf
import Testing

@Suite("Domain values and their event payloads")
struct PayloadConversionTests {
    @Test("every default plan survives a trip through its payload, bytes included")
    func plansRoundTrip() throws {
        for plan in try Plan.defaults() + Plan.defaults(currency: .jpy) {
            let spec = Tally_V1_PlanSpec(plan)
            let bytes: Data = try spec.serializedData()
            let decoded = try Tally_V1_PlanSpec(serializedBytes: bytes).decoded()
            #expect(decoded == plan, "\(plan.id) \(plan.currency)")
            #expect(
                try Tally_V1_PlanSpec(decoded).serializedData() == bytes, "the same plan always encodes the same bytes")
        }
    }

    @Test("enterprise contracts survive a trip through their payload")
    func contractsRoundTrip() throws {
        let contract = try CustomPricingTests.contract()
        let payload = Tally_V1_CustomPricingAgreed(contract)
        let decoded = try Tally_V1_CustomPricingAgreed(serializedBytes: payload.serializedData() as Data).decoded(
            organizationID: "org_big")
        #expect(decoded == contract)
    }

    @Test("every interval and price model round-trips")
    func valuesRoundTrip() throws {
        for interval in [BillingInterval.monthly, .quarterly, .annual, .everyMonths(7)] {
            #expect(try Tally_V1_Interval(interval).decoded(field: "interval") == interval)
        }
        let models: [PriceModel] = [
            .perUnit(unitPrice: try ExactDecimal("0.0015")),
            .graduated(PriceModelTests.tiers),
            .volume([
                PriceTier(upTo: 10, unitPrice: .zero, flatFee: try ExactDecimal("5")),
                PriceTier(upTo: nil, unitPrice: try ExactDecimal("1")),
            ]),
            .package(size: 1000, price: try ExactDecimal("2.50")),
        ]
        for model in models {
            #expect(try Tally_V1_PriceModel(model).decoded(field: "price") == model)
        }
    }

    @Test("bad payloads are refused with the payload field named")
    func badPayloads() throws {
        var spec = Tally_V1_PlanSpec(try Plan.defaults()[1])
        spec.currency = "XXY"
        #expect(
            throws: BillingError.invalid(field: "plan.currency", rule: "\"XXY\" is not a supported ISO 4217 currency")
        ) { try spec.decoded() }

        spec = Tally_V1_PlanSpec(try Plan.defaults()[1])
        spec.metrics[0].overagePrice.perUnit.unitPrice = "1e-3"
        do {
            _ = try spec.decoded()
            Issue.record("a bad decimal was accepted")
        } catch {
            #expect(
                error.description.hasPrefix(
                    "plan.metrics[0].overage_price.per_unit.unit_price: must be a decimal number"))
        }

        spec = Tally_V1_PlanSpec(try Plan.defaults()[1])
        spec.tier = .unspecified
        #expect(
            throws: BillingError.invalid(field: "plan.tier", rule: "must be free, professional, enterprise or custom")
        ) { try spec.decoded() }

        #expect(throws: BillingError.self) {
            try Tally_V1_Interval.with {
                $0.kind = .custom
                $0.months = 0
            }.decoded(field: "interval")
        }
        #expect(throws: BillingError.invalid(field: "price", rule: "must be per_unit, graduated, volume or package")) {
            try Tally_V1_PriceModel().decoded(field: "price")
        }
    }
}
