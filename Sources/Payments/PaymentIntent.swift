public import Billing

/// A payment intent's status, as Stripe names them.
public enum PaymentIntentStatus: String, Sendable, Hashable, Codable {
    case requiresPaymentMethod = "requires_payment_method"
    case requiresConfirmation = "requires_confirmation"
    case requiresAction = "requires_action"
    case processing
    case succeeded
    case canceled
}

/// Why a payment failed, with the gateway's code (Stripe's decline codes) and message.
public struct PaymentFailure: Error, Sendable, Hashable, Codable, CustomStringConvertible {
    public enum Code: String, Sendable, Hashable, Codable {
        case cardDeclined = "card_declined"
        case insufficientFunds = "insufficient_funds"
        case expiredCard = "expired_card"
        case authenticationRequired = "authentication_required"
        case processingError = "processing_error"
        /// The gateway did not answer in time: the outcome is unknown until retried with the
        /// same idempotency key.
        case timeout
    }

    public var code: Code
    public var message: String

    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }
}

/// One attempt to collect an amount, as a gateway tracks it.
public struct PaymentIntent: Sendable, Hashable, Codable {
    public var id: String
    public var amount: Money
    public var customer: String
    public var paymentMethod: String?
    public var status: PaymentIntentStatus
    /// The failure of the last confirmation, if it failed.
    public var lastFailure: PaymentFailure?
    /// Refunded so far, in the intent's currency.
    public var refunded: Money

    public init(id: String, amount: Money, customer: String, paymentMethod: String?, status: PaymentIntentStatus) {
        self.id = id
        self.amount = amount
        self.customer = customer
        self.paymentMethod = paymentMethod
        self.status = status
        refunded = .zero(amount.currency)
    }
}

/// A refund of a succeeded intent, in full or in part.
public struct Refund: Sendable, Hashable, Codable {
    public var id: String
    public var paymentIntentID: String
    public var amount: Money
}
