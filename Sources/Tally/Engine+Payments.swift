import Billing
import BillingEvents
import EventLog
public import Foundation
public import Payments
import Projections
public import ReadModels
import SwiftProtobuf

/// What one collection attempt did.
public enum PaymentOutcome: Sendable, Hashable {
    case paid(paymentIntentID: String)
    /// Declined; `nextAttemptAt` is when the retry schedule tries again (nil: exhausted).
    case failed(PaymentFailure, attempt: UInt32, nextAttemptAt: Date?)
}

extension Engine {
    /// Tries to collect an open invoice's amount due through `gateway`, with the organization's
    /// payment method, and records the outcome: `payment.succeeded` (the invoice is paid; a
    /// past-due subscription is restored) or `payment.failed` (the first failure makes the
    /// subscription past due). The gateway is called outside any transaction, with idempotency
    /// keys derived from the invoice and attempt, so a call whose answer was lost (a timeout,
    /// thrown unchanged, recording nothing) is safely retried by calling again.
    public func collectPayment(
        for invoiceID: String, through gateway: any PaymentGateway, at date: Date, schedule: RetrySchedule = .default
    ) async throws -> PaymentOutcome {
        guard let invoice = try live.invoice(invoiceID), let organizationID = try live.organization(ofInvoice: invoiceID),
            let status = try invoiceStatus(invoiceID)
        else {
            throw EngineError.notFound("invoice \(invoiceID)")
        }
        guard status.state == .open else {
            throw EngineError.conflict("invoice \(invoiceID) is \(status.state.name): only an open invoice is collected")
        }
        let amount: Money
        do throws(BillingError) { amount = try invoice.amountDue.decoded(field: "amount_due") } catch { throw EngineError.invalid(field: "amount_due", rule: error.description) }
        let method = try organization(organizationID)?.paymentMethod ?? ""
        let attempt = status.failedAttempts + 1
        let key = "\(invoiceID)-attempt-\(attempt)"
        var intent = try await gateway.createIntent(amount: amount, customer: organizationID, paymentMethod: method.isEmpty ? nil : method, idempotencyKey: key)
        if intent.status == .requiresConfirmation { intent = try await gateway.confirm(intent.id, idempotencyKey: key + "-confirm") }

        let outcome: PaymentOutcome
        let type: BillingEventType
        let payload: any SwiftProtobuf.Message
        if intent.status == .succeeded {
            outcome = .paid(paymentIntentID: intent.id)
            type = .paymentSucceeded
            payload = Tally_V1_PaymentSucceeded.with {
                $0.invoiceID = invoiceID
                $0.paymentIntentID = intent.id
                $0.amount = Tally_V1_Money(amount)
            }
        } else {
            let failure = intent.lastFailure ?? PaymentFailure(code: .authenticationRequired, message: "no payment method on file, or the payment needs the customer")
            let firstFailure = status.firstFailureAt == 0 ? date : Date(timeIntervalSince1970: TimeInterval(status.firstFailureAt))
            let next = schedule.nextAttempt(afterFailures: Int(attempt), firstFailure: firstFailure)
            outcome = .failed(failure, attempt: attempt, nextAttemptAt: next)
            type = .paymentFailed
            payload = Tally_V1_PaymentFailed.with {
                $0.invoiceID = invoiceID
                $0.paymentIntentID = intent.id
                $0.amount = Tally_V1_Money(amount)
                $0.failureCode = failure.code.rawValue
                $0.failureMessage = failure.message
                $0.attempt = attempt
                if let next { $0.nextAttemptAt = Google_Protobuf_Timestamp(date: next) }
            }
        }
        let bytes = try payload.deterministicData()
        let projections = projections
        let intentID = intent.id
        _ = try await log.append { decision in
            // The attempt is recorded once: a retry of this call finds its own key.
            if try decision.sequence(ofIdempotencyKey: key, organizationID: organizationID) != nil { return [] }
            let invoices = try projections.reader(InvoicesProjector.name, in: decision.transaction)
            guard let current = try InvoicesProjector.status(of: invoiceID, in: invoices), current.state == .open, current.failedAttempts + 1 == attempt else {
                throw EngineError.conflict("invoice \(invoiceID) changed while it was being collected (payment intent \(intentID) may need a refund)")
            }
            return [EventDraft(organizationID: organizationID, eventType: type.rawValue, occurredAt: date, idempotencyKey: key, payload: bytes)]
        }
        return outcome
    }

    /// Cancels an open invoice: nothing is owed on it any more.
    public func voidInvoice(_ invoiceID: String, reason: String, at date: Date) async throws {
        try await settle(invoiceID, as: .invoiceVoided, payload: Tally_V1_InvoiceVoided.with {
            $0.invoiceID = invoiceID
            $0.reason = reason
        }, at: date)
    }

    /// Writes off an open invoice whose collection failed.
    public func markInvoiceUncollectible(_ invoiceID: String, at date: Date) async throws {
        try await settle(invoiceID, as: .invoiceMarkedUncollectible, payload: Tally_V1_InvoiceMarkedUncollectible.with { $0.invoiceID = invoiceID }, at: date)
    }

    public func invoiceStatus(_ invoiceID: String) throws -> InvoiceStatus? {
        try projections.read(InvoicesProjector.name) { try InvoicesProjector.status(of: invoiceID, in: $0) }
    }

    private func settle(_ invoiceID: String, as type: BillingEventType, payload: any SwiftProtobuf.Message, at date: Date) async throws {
        guard let organizationID = try live.organization(ofInvoice: invoiceID) else { throw EngineError.notFound("invoice \(invoiceID)") }
        let bytes = try payload.deterministicData()
        let projections = projections
        _ = try await log.append { decision in
            let invoices = try projections.reader(InvoicesProjector.name, in: decision.transaction)
            let status = try InvoicesProjector.status(of: invoiceID, in: invoices)
            guard status?.state == .open else {
                throw EngineError.conflict("invoice \(invoiceID) is \(status?.state.name ?? "unknown"): only an open invoice can be \(type == .invoiceVoided ? "voided" : "written off")")
            }
            return [EventDraft(organizationID: organizationID, eventType: type.rawValue, occurredAt: date, payload: bytes)]
        }
    }
}
