import Billing
import Foundation
import TallyTestSupport
import Testing

@testable import ReadModels

/// `JSONRecords` hands a projector back the value it encoded instead of decoding the bytes it
/// wrote: sound only if decoding those bytes gives exactly that value. Checked here for every
/// record type stored through it, on random records whose dates carry fractions of a second,
/// in several currencies, with discounts, prorations and every subscription status.
@Suite("Read models: JSON records")
struct JSONRecordsTests {
    @Test("every record decodes to the value it was encoded from, and encodes to the same bytes again")
    func roundTripIsExact() throws {
        let seed = TestEnvironment.seed()
        var random = SeededGenerator(seed: seed)
        let records = JSONRecords<SubscriptionRecord>()
        let histories = JSONRecords<CustomerHistory>()
        let plain = JSONDecoder()
        for _ in 0..<TestEnvironment.iterations(default: 200) {
            let record = try Self.subscriptionRecord(&random)
            let bytes = try records.encode(record)
            #expect(try plain.decode(SubscriptionRecord.self, from: Data(bytes)) == record, "seed \(seed)")
            #expect(try JSONRecords<SubscriptionRecord>().encode(record) == bytes)
            #expect(try bytes.withUnsafeBytes(records.decode) == record, "seed \(seed)")

            let history = Self.history(&random)
            let historyBytes = try histories.encode(history)
            #expect(try plain.decode(CustomerHistory.self, from: Data(historyBytes)) == history, "seed \(seed)")
            #expect(try histories.encode(history) == historyBytes)
        }
    }

    @Test("a record read back after another was written decodes that one, not the last encoded")
    func readsFollowTheBytes() throws {
        let records = JSONRecords<CustomerHistory>()
        var first = CustomerHistory(organizationID: "org_1")
        first.signupDay = 20_000
        var second = first
        second.signupDay = 20_001
        let firstBytes = try records.encode(first)
        let secondBytes = try records.encode(second)
        #expect(firstBytes != secondBytes)
        #expect(try firstBytes.withUnsafeBytes(records.decode) == first)
        #expect(try secondBytes.withUnsafeBytes(records.decode) == second)
        #expect(try records.encode(first) == firstBytes)
    }

    private static func date(_ random: inout SeededGenerator) -> Date {
        // Whole seconds, milliseconds and nanoseconds alike: what events carry.
        let seconds = Double(Int.random(in: 1_700_000_000...1_900_000_000, using: &random))
        switch Int.random(in: 0...2, using: &random) {
        case 0: return Date(timeIntervalSince1970: seconds)
        case 1: return Date(timeIntervalSince1970: seconds + Double(Int.random(in: 0...999, using: &random)) / 1_000)
        default:
            return Date(
                timeIntervalSince1970: seconds + Double(Int.random(in: 0...999_999_999, using: &random)) / 1_000_000_000
            )
        }
    }

    private static func money(_ random: inout SeededGenerator) throws -> Money {
        let currency = try Currency(["USD", "JPY", "KWD", "EUR"][Int.random(in: 0...3, using: &random)])
        return Money(minorUnits: Int64(Int.random(in: 0...10_000_000, using: &random)), currency: currency)
    }

    private static func subscriptionRecord(_ random: inout SeededGenerator) throws -> SubscriptionRecord {
        let start = date(&random)
        let interval: BillingInterval = [
            .monthly, .quarterly, .annual, .everyMonths(Int.random(in: 2...18, using: &random)),
        ][Int.random(in: 0...3, using: &random)]
        let organization =
            "org_\(Int.random(in: 0...9_999, using: &random))\(Int.random(in: 0...3, using: &random) == 0 ? " \"ü/\\\"" : "")"
        var subscription: Subscription
        if Int.random(in: 0...2, using: &random) == 0 {
            subscription = try Subscription(
                organizationID: organization, planID: "pro", interval: interval,
                trialEndsAt: start.addingTimeInterval(14 * 86_400))
        } else {
            subscription = try Subscription(
                organizationID: organization, planID: "pro", interval: interval, activeFrom: start)
            switch Int.random(in: 0...6, using: &random) {
            case 0: try subscription.markPastDue(at: date(&random))
            case 1:
                try subscription.markPastDue(at: start.addingTimeInterval(3_600))
                try subscription.startGrace(
                    until: start.addingTimeInterval(Double(Int.random(in: 2...900_000, using: &random)) * 3_600.5))
            case 2:
                try subscription.markPastDue(at: start.addingTimeInterval(3_600))
                try subscription.markUnpaid(at: date(&random))
            case 3: try subscription.cancelNow(at: date(&random))
            case 4: try subscription.scheduleCancellation()
            default: break
            }
        }
        let price = try money(&random)
        var record = SubscriptionRecord(
            id: "sub_\(Int.random(in: 0...99_999, using: &random))", startedAt: start, recurringPrice: price,
            currentPeriod: try BillingPeriod(
                start: start, end: start.addingTimeInterval(Double(Int.random(in: 1...400, using: &random)) * 86_400)),
            createdByKey: Int.random(in: 0...1, using: &random) == 0
                ? nil : "key-\(Int.random(in: 0...999, using: &random))", periodPrice: price, subscription: subscription
        )
        for _ in 0..<Int.random(in: 0...3, using: &random) {
            let charge = Money(minorUnits: Int64(Int.random(in: 0...50_000, using: &random)), currency: price.currency)
            record.unbilledProrations.append(UnbilledProration(credit: charge, charge: charge))
        }
        switch Int.random(in: 0...2, using: &random) {
        case 0:
            let percent = try ExactDecimal(["12.5", "50", "0.01", "99.990"][Int.random(in: 0...3, using: &random)])
            record.discount = RecurringDiscount(
                id: "coupon", value: .percentOff(percent), periods: Int.random(in: 0...1, using: &random) == 0 ? nil : 3
            )
        case 1: record.discount = RecurringDiscount(id: "fixed", value: .amountOff(try money(&random)), periods: 1)
        default: break
        }
        return record
    }

    private static func history(_ random: inout SeededGenerator) -> CustomerHistory {
        var history = CustomerHistory(organizationID: "org_\(Int.random(in: 0...9_999, using: &random))")
        history.signupDay =
            Int.random(in: 0...1, using: &random) == 0 ? nil : Int32(Int.random(in: 19_000...21_000, using: &random))
        history.currency = ["USD", "JPY", nil][Int.random(in: 0...2, using: &random)]
        for index in 0..<Int.random(in: 0...4, using: &random) {
            history.contributions["sub_\(index)"] = Int64(Int.random(in: 0...900_000, using: &random))
        }
        for _ in 0..<Int.random(in: 0...6, using: &random) {
            let kind = MRRMovement.Kind.allCases[
                Int.random(in: 0...(MRRMovement.Kind.allCases.count - 1), using: &random)]
            history.movements.append(
                .init(
                    day: Int32(Int.random(in: 19_000...21_000, using: &random)),
                    movement: MRRMovement(kind: kind, amount: Int64(Int.random(in: -50_000...50_000, using: &random))),
                    cause: "subscription.renewed"))
        }
        for index in 0..<Int.random(in: 0...2, using: &random) {
            history.trials.append(
                .init(
                    subscriptionID: "sub_\(index)", startDay: 20_000,
                    outcome: [.trialing, .converted, .expired][Int.random(in: 0...2, using: &random)],
                    endDay: index == 0 ? nil : 20_014))
        }
        return history
    }
}
