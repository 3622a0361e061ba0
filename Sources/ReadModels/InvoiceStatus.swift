import Foundation

/// Where an invoice stands: its state, what is still owed, what was credited and refunded,
/// and its collection attempts.
public struct InvoiceStatus: Sendable, Hashable, Codable {
    public enum State: String, Sendable, Hashable, Codable {
        case draft, open, paid, void, uncollectible

        public var name: String { rawValue }
    }

    public var state: State
    public var currency: String
    /// Minor units still owed: the invoice's amount due less credit notes applied to it.
    public var amountDue: Int64
    /// Minor units paid through the gateway.
    public var amountPaid: Int64 = 0
    /// Minor units credited by credit notes (tax included), its tax part, and what was refunded.
    public var credited: Int64 = 0
    public var creditedTax: Int64 = 0
    public var refunded: Int64 = 0
    public var failedAttempts: UInt32 = 0
    /// Seconds since 1970 of the first failed attempt; 0 when none.
    public var firstFailureAt: Int64 = 0
    /// When the next collection attempt is due (ns since 1970); nil when none is scheduled.
    public var nextAttemptAt: Int64?
    /// The gateway's payment intent that paid it.
    public var paymentIntentID: String?
    public var creditNotes: UInt32 = 0

    init(state: State, currency: String, amountDue: Int64) {
        self.state = state
        self.currency = currency
        self.amountDue = amountDue
    }
}
