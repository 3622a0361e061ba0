public import Billing

/// A gateway in the process, for tests and the demo: it succeeds or fails by payment method,
/// deterministically, with Stripe's test-card names:
///
/// | payment method | confirm |
/// | --- | --- |
/// | `pm_card_visa`, `pm_card_mastercard`, any other | succeeded |
/// | `pm_card_chargeDeclined` | card_declined |
/// | `pm_card_chargeDeclinedInsufficientFunds` | insufficient_funds |
/// | `pm_card_chargeDeclinedExpiredCard` | expired_card |
/// | `pm_card_authenticationRequired` | requires_action |
/// | `pm_card_timeout` | throws a timeout (nothing recorded, as if the answer was lost) |
///
/// Idempotency keys behave as Stripe's do: the same key and request return the first answer.
public actor InProcessGateway: PaymentGateway {
    private var intents: [String: PaymentIntent] = [:]
    private var answers: [String: (request: String, answer: Result<PaymentIntent, PaymentGatewayError>)] = [:]
    private var refundAnswers: [String: (request: String, refund: Refund)] = [:]
    private var nextNumber = 1

    public init() {}

    public func createIntent(amount: Money, customer: String, paymentMethod: String?, idempotencyKey: String)
        async throws -> PaymentIntent
    {
        let request = "create \(amount) \(customer) \(paymentMethod ?? "")"
        if let answer = try replay(idempotencyKey, request) { return answer }
        guard !amount.isNegative, !amount.isZero else {
            throw PaymentGatewayError.invalidAmount("must be positive, got \(amount)")
        }
        let intent = PaymentIntent(
            id: "pi_\(nextNumber)", amount: amount, customer: customer, paymentMethod: paymentMethod,
            status: paymentMethod == nil ? .requiresPaymentMethod : .requiresConfirmation)
        nextNumber += 1
        intents[intent.id] = intent
        return remember(idempotencyKey, request, .success(intent))
    }

    public func confirm(_ intentID: String, idempotencyKey: String) async throws -> PaymentIntent {
        let request = "confirm \(intentID)"
        if let answer = try replay(idempotencyKey, request) { return answer }
        guard var intent = intents[intentID] else { return try fail(idempotencyKey, request, .noSuchIntent(intentID)) }
        guard intent.status == .requiresConfirmation || intent.status == .requiresAction,
            let method = intent.paymentMethod
        else {
            return try fail(
                idempotencyKey, request, .invalidState(intent: intentID, status: intent.status, action: "confirm"))
        }
        switch method {
        case "pm_card_timeout":
            throw PaymentFailure(code: .timeout, message: "the gateway did not answer in time")
        case "pm_card_authenticationRequired" where intent.status == .requiresConfirmation:
            intent.status = .requiresAction
            intent.lastFailure = PaymentFailure(
                code: .authenticationRequired, message: "The card requires authentication.")
        case "pm_card_chargeDeclined", "pm_card_chargeDeclinedInsufficientFunds", "pm_card_chargeDeclinedExpiredCard":
            let failure: PaymentFailure =
                switch method {
                case "pm_card_chargeDeclined": PaymentFailure(code: .cardDeclined, message: "Your card was declined.")
                case "pm_card_chargeDeclinedInsufficientFunds":
                    PaymentFailure(code: .insufficientFunds, message: "Your card has insufficient funds.")
                default: PaymentFailure(code: .expiredCard, message: "Your card has expired.")
                }
            intent.status = .requiresPaymentMethod
            intent.lastFailure = failure
        default:
            intent.status = .succeeded
            intent.lastFailure = nil
        }
        intents[intentID] = intent
        return remember(idempotencyKey, request, .success(intent))
    }

    public func cancel(_ intentID: String, idempotencyKey: String) async throws -> PaymentIntent {
        let request = "cancel \(intentID)"
        if let answer = try replay(idempotencyKey, request) { return answer }
        guard var intent = intents[intentID] else { return try fail(idempotencyKey, request, .noSuchIntent(intentID)) }
        guard intent.status != .succeeded, intent.status != .canceled else {
            return try fail(
                idempotencyKey, request, .invalidState(intent: intentID, status: intent.status, action: "cancel"))
        }
        intent.status = .canceled
        intents[intentID] = intent
        return remember(idempotencyKey, request, .success(intent))
    }

    public func refund(_ intentID: String, amount: Money, idempotencyKey: String) async throws -> Refund {
        let request = "refund \(intentID) \(amount)"
        if let earlier = refundAnswers[idempotencyKey] {
            guard earlier.request == request else { throw PaymentGatewayError.idempotencyConflict(idempotencyKey) }
            return earlier.refund
        }
        guard var intent = intents[intentID] else { throw PaymentGatewayError.noSuchIntent(intentID) }
        guard intent.status == .succeeded else {
            throw PaymentGatewayError.invalidState(intent: intentID, status: intent.status, action: "refund")
        }
        let left = try intent.amount.subtracting(intent.refunded)
        guard amount.currency == intent.amount.currency, !amount.isNegative, !amount.isZero,
            amount.minorUnits <= left.minorUnits
        else {
            throw PaymentGatewayError.invalidAmount(
                "must be positive and at most the \(left) not yet refunded, got \(amount)")
        }
        intent.refunded = try intent.refunded.adding(amount)
        intents[intentID] = intent
        let refund = Refund(id: "re_\(nextNumber)", paymentIntentID: intentID, amount: amount)
        nextNumber += 1
        refundAnswers[idempotencyKey] = (request, refund)
        return refund
    }

    /// The intent as the gateway holds it now.
    public func intent(_ id: String) -> PaymentIntent? { intents[id] }

    // MARK: Idempotency

    private func replay(_ key: String, _ request: String) throws -> PaymentIntent? {
        guard let earlier = answers[key] else { return nil }
        guard earlier.request == request else { throw PaymentGatewayError.idempotencyConflict(key) }
        return try earlier.answer.get()
    }

    private func remember(_ key: String, _ request: String, _ answer: Result<PaymentIntent, PaymentGatewayError>)
        -> PaymentIntent
    {
        answers[key] = (request, answer)
        return (try? answer.get())!
    }

    private func fail(_ key: String, _ request: String, _ error: PaymentGatewayError) throws -> PaymentIntent {
        answers[key] = (request, .failure(error))
        throw error
    }
}
