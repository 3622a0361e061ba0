import Billing
import Foundation
import Payments
import Testing

@Suite("Payments: the in-process gateway and the retry schedule")
struct InProcessGatewayTests {
    static let amount = try! Money("49.00", currency: .usd)

    @Test("a good card: requires_confirmation, then succeeded; a retried call returns the first answer")
    func success() async throws {
        let gateway = InProcessGateway()
        let intent = try await gateway.createIntent(
            amount: Self.amount, customer: "org_1", paymentMethod: "pm_card_visa", idempotencyKey: "create-1")
        #expect(intent.status == .requiresConfirmation)
        let again = try await gateway.createIntent(
            amount: Self.amount, customer: "org_1", paymentMethod: "pm_card_visa", idempotencyKey: "create-1")
        #expect(again.id == intent.id)
        let confirmed = try await gateway.confirm(intent.id, idempotencyKey: "confirm-1")
        #expect(confirmed.status == .succeeded && confirmed.lastFailure == nil)
        await #expect(throws: PaymentGatewayError.idempotencyConflict("create-1")) {
            try await gateway.createIntent(
                amount: Self.amount, customer: "org_2", paymentMethod: "pm_card_visa", idempotencyKey: "create-1")
        }
    }

    @Test(
        "declines carry their code and message, and leave the intent waiting for a payment method",
        arguments: [
            ("pm_card_chargeDeclined", PaymentFailure.Code.cardDeclined),
            ("pm_card_chargeDeclinedInsufficientFunds", .insufficientFunds),
            ("pm_card_chargeDeclinedExpiredCard", .expiredCard),
        ])
    func declines(card: String, code: PaymentFailure.Code) async throws {
        let gateway = InProcessGateway()
        let intent = try await gateway.createIntent(
            amount: Self.amount, customer: "org_1", paymentMethod: card, idempotencyKey: "c")
        let confirmed = try await gateway.confirm(intent.id, idempotencyKey: "k")
        #expect(confirmed.status == .requiresPaymentMethod)
        #expect(confirmed.lastFailure?.code == code && confirmed.lastFailure?.message.isEmpty == false)
    }

    @Test("authentication: requires_action first; a timeout throws and records nothing, so a retry is safe")
    func actionAndTimeout() async throws {
        let gateway = InProcessGateway()
        let strong = try await gateway.createIntent(
            amount: Self.amount, customer: "org_1", paymentMethod: "pm_card_authenticationRequired", idempotencyKey: "a"
        )
        #expect(try await gateway.confirm(strong.id, idempotencyKey: "a1").status == .requiresAction)
        #expect(try await gateway.confirm(strong.id, idempotencyKey: "a2").status == .succeeded)
        let slow = try await gateway.createIntent(
            amount: Self.amount, customer: "org_1", paymentMethod: "pm_card_timeout", idempotencyKey: "t")
        await #expect(throws: PaymentFailure.self) { try await gateway.confirm(slow.id, idempotencyKey: "t1") }
        #expect(await gateway.intent(slow.id)?.status == .requiresConfirmation)
    }

    @Test("refunds: full or partial, never more than was paid, only of a succeeded payment")
    func refunds() async throws {
        let gateway = InProcessGateway()
        let intent = try await gateway.createIntent(
            amount: Self.amount, customer: "org_1", paymentMethod: "pm_card_visa", idempotencyKey: "c")
        await #expect(throws: PaymentGatewayError.self) {
            try await gateway.refund(intent.id, amount: Self.amount, idempotencyKey: "r0")
        }
        _ = try await gateway.confirm(intent.id, idempotencyKey: "k")
        let part = try await gateway.refund(intent.id, amount: try Money("19.00", currency: .usd), idempotencyKey: "r1")
        #expect(
            try await gateway.refund(intent.id, amount: try Money("19.00", currency: .usd), idempotencyKey: "r1")
                == part)
        await #expect(throws: PaymentGatewayError.self) {
            try await gateway.refund(intent.id, amount: try Money("30.01", currency: .usd), idempotencyKey: "r2")
        }
        _ = try await gateway.refund(intent.id, amount: try Money("30.00", currency: .usd), idempotencyKey: "r3")
        #expect(await gateway.intent(intent.id)?.refunded == Self.amount)
        await #expect(throws: PaymentGatewayError.self) { try await gateway.cancel(intent.id, idempotencyKey: "x") }
    }

    @Test("the default retry schedule: 3, 5 and 7 days, then no more")
    func retrySchedule() {
        let failed = Date(timeIntervalSince1970: 1_767_225_600)  // 2026-01-01
        let schedule = RetrySchedule.default
        #expect(schedule.nextAttempt(afterFailures: 1, firstFailure: failed) == failed.addingTimeInterval(3 * 86_400))
        #expect(schedule.nextAttempt(afterFailures: 2, firstFailure: failed) == failed.addingTimeInterval(5 * 86_400))
        #expect(schedule.nextAttempt(afterFailures: 3, firstFailure: failed) == failed.addingTimeInterval(7 * 86_400))
        #expect(schedule.nextAttempt(afterFailures: 4, firstFailure: failed) == nil)
    }
}
