public import Billing

/// What Tally needs from a payment processor. Every call is async and carries an idempotency
/// key, so a network gateway (Stripe's HTTP API) can retry a call whose answer was lost
/// without charging twice; a gateway that does not answer within its timeout throws
/// `PaymentFailure(code: .timeout)`, and the caller retries with the same key.
public protocol PaymentGateway: Sendable {
    /// Creates an intent for `amount`: `requires_confirmation` with a payment method,
    /// `requires_payment_method` without.
    func createIntent(amount: Money, customer: String, paymentMethod: String?, idempotencyKey: String) async throws
        -> PaymentIntent
    /// Tries to collect: `succeeded`, `requires_action` (authentication needed), or back to
    /// `requires_payment_method` with `lastFailure` set.
    func confirm(_ intentID: String, idempotencyKey: String) async throws -> PaymentIntent
    /// Gives up on an intent that has not succeeded.
    func cancel(_ intentID: String, idempotencyKey: String) async throws -> PaymentIntent
    /// Returns `amount` (all or part of what is left) of a succeeded intent.
    func refund(_ intentID: String, amount: Money, idempotencyKey: String) async throws -> Refund
}

/// Why a gateway refused a call outright (as opposed to a declined payment).
public enum PaymentGatewayError: Error, Sendable, Hashable, CustomStringConvertible {
    case noSuchIntent(String)
    case invalidState(intent: String, status: PaymentIntentStatus, action: String)
    case invalidAmount(String)
    /// The idempotency key was already used for a different request.
    case idempotencyConflict(String)

    public var description: String {
        switch self {
        case .noSuchIntent(let id): "no payment intent \(id)"
        case .invalidState(let intent, let status, let action):
            "cannot \(action) payment intent \(intent): it is \(status.rawValue)"
        case .invalidAmount(let detail): "amount: \(detail)"
        case .idempotencyConflict(let key): "idempotency key \"\(key)\" was already used for a different request"
        }
    }
}
