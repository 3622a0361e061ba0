import Billing
import BillingEvents
import EventLog
public import Foundation
public import Payments
import Projections
public import ReadModels
import SwiftProtobuf
import Synchronization

/// What one collection attempt did.
public enum PaymentOutcome: Sendable, Hashable {
    case paid(paymentIntentID: String)
    /// Declined; `nextAttemptAt` is when the retry schedule tries again (nil: exhausted).
    case failed(PaymentFailure, attempt: UInt32, nextAttemptAt: Date?)
}

extension Engine {
    /// Tries to collect an open invoice's amount due through `gateway`, with the organization's
    /// payment method, and records the outcome with its dunning steps in one commit:
    /// `payment.succeeded` (the invoice is paid; a subscription past due, in grace or unpaid is
    /// recovered) or `payment.failed` with the next attempt on the policy's retry schedule (the
    /// first failure makes an active subscription past due; the last starts the grace period,
    /// or ends dunning when there is none). The gateway is called outside any transaction,
    /// with idempotency keys derived from the invoice and attempt, so a call whose answer was
    /// lost (a timeout, thrown unchanged, recording nothing) is safely retried by calling again.
    public func collectPayment(for invoiceID: String, through gateway: any PaymentGateway, at date: Date) async throws
        -> PaymentOutcome
    {
        guard
            let outcome = try await attemptCollection(of: invoiceID, through: gateway, at: date, scheduledAt: nil)
                .outcome
        else {
            throw EngineError.conflict("invoice \(invoiceID) was collected meanwhile")
        }
        return outcome
    }

    /// One collection attempt; `scheduledAt` (ns) when `advance` makes the attempt the
    /// collection index had due: if another run made it already, nothing is done (nil).
    func attemptCollection(
        of invoiceID: String, through gateway: any PaymentGateway, at date: Date, scheduledAt: Int64?
    ) async throws -> (outcome: PaymentOutcome?, appended: [String]) {
        guard let invoice = try live.invoice(invoiceID),
            let organizationID = try live.organization(ofInvoice: invoiceID),
            let status = try invoiceStatus(invoiceID)
        else {
            throw EngineError.notFound("invoice \(invoiceID)")
        }
        if let scheduledAt, status.state != .open || status.nextAttemptAt != scheduledAt { return (nil, []) }
        guard status.state == .open else {
            throw EngineError.conflict(
                "invoice \(invoiceID) is \(status.state.name): only an open invoice is collected")
        }
        let amount: Money
        do throws(BillingError) {
            amount = try Money(minorUnits: status.amountDue, currency: Currency(status.currency))
        } catch {
            throw EngineError.invalid(field: "amount_due", rule: error.description)
        }
        let method = try organization(organizationID)?.paymentMethod ?? ""
        let attempt = status.failedAttempts + 1
        let key = "\(invoiceID)-attempt-\(attempt)"
        var intent = try await gateway.createIntent(
            amount: amount, customer: organizationID, paymentMethod: method.isEmpty ? nil : method, idempotencyKey: key)
        if intent.status == .requiresConfirmation {
            intent = try await gateway.confirm(intent.id, idempotencyKey: key + "-confirm")
        }

        let outcome: PaymentOutcome
        let recorded: EventDraft
        if intent.status == .succeeded {
            outcome = .paid(paymentIntentID: intent.id)
            recorded = try EventDraft(
                organizationID: organizationID, eventType: BillingEventType.paymentSucceeded.rawValue, occurredAt: date,
                idempotencyKey: key,
                payload: Tally_V1_PaymentSucceeded.with {
                    $0.invoiceID = invoiceID
                    $0.paymentIntentID = intent.id
                    $0.amount = Tally_V1_Money(amount)
                }.deterministicData())
        } else {
            let failure =
                intent.lastFailure
                ?? PaymentFailure(
                    code: .authenticationRequired,
                    message: "no payment method on file, or the payment needs the customer")
            let firstFailure =
                status.firstFailureAt == 0 ? date : Date(timeIntervalSince1970: TimeInterval(status.firstFailureAt))
            let next = policy.retrySchedule.nextAttempt(afterFailures: Int(attempt), firstFailure: firstFailure)
            outcome = .failed(failure, attempt: attempt, nextAttemptAt: next)
            recorded = try EventDraft(
                organizationID: organizationID, eventType: BillingEventType.paymentFailed.rawValue, occurredAt: date,
                idempotencyKey: key,
                payload: Tally_V1_PaymentFailed.with {
                    $0.invoiceID = invoiceID
                    $0.paymentIntentID = intent.id
                    $0.amount = Tally_V1_Money(amount)
                    $0.failureCode = failure.code.rawValue
                    $0.failureMessage = failure.message
                    $0.attempt = attempt
                    if let next { $0.nextAttemptAt = Google_Protobuf_Timestamp(date: next) }
                }.deterministicData())
        }
        let projections = projections
        let policy = policy
        let intentID = intent.id
        let subscriptionID = invoice.subscriptionID
        let decided = Mutex<[String]>([])
        _ = try await log.append { decision in
            // The attempt is recorded once: a retry of this call, or another run, finds its key.
            if try decision.sequence(ofIdempotencyKey: key, organizationID: organizationID) != nil {
                decided.withLock { $0 = [] }
                return []
            }
            let invoices = try projections.reader(InvoicesProjector.name, in: decision.transaction)
            let current = try InvoicesProjector.status(of: invoiceID, in: invoices)
            // Another run of advance moved this invoice on: a declined attempt is simply not
            // recorded twice; money taken meanwhile is a conflict for a person to resolve.
            if let scheduledAt, current?.nextAttemptAt != scheduledAt, case .failed = outcome {
                decided.withLock { $0 = [] }
                return []
            }
            guard let current, current.state == .open, current.failedAttempts + 1 == attempt else {
                throw EngineError.conflict(
                    "invoice \(invoiceID) changed while it was being collected (payment intent \(intentID) may need a refund)"
                )
            }
            let subscriptions = try projections.reader(SubscriptionsProjector.name, in: decision.transaction)
            let record = try SubscriptionsProjector.current(of: organizationID, in: subscriptions).flatMap {
                $0.id == subscriptionID ? $0 : nil
            }
            let drafts =
                [recorded]
                + (try Self.dunningSteps(after: outcome, of: record, invoiceID: invoiceID, at: date, key: key, policy))
            decided.withLock { $0 = drafts.map(\.eventType) }
            return drafts
        }
        return (outcome, decided.withLock { $0 })
    }

    /// What a collection attempt does to the invoice's subscription (if it is still the
    /// organization's): recovered by a payment; past due at the first failure; grace (or the
    /// end of dunning) when the retries are exhausted.
    private static func dunningSteps(
        after outcome: PaymentOutcome, of record: SubscriptionRecord?, invoiceID: String, at date: Date, key: String,
        _ policy: BillingPolicy
    ) throws -> [EventDraft] {
        guard let record else { return [] }
        var subscription = record.subscription
        var steps: [(BillingEventType, any SwiftProtobuf.Message)] = []
        switch (outcome, subscription.status) {
        case (.paid, .pastDue), (.paid, .grace), (.paid, .unpaid):
            steps.append(
                (
                    .subscriptionRecovered,
                    Tally_V1_SubscriptionRecovered.with {
                        $0.subscriptionID = record.id
                        $0.invoiceID = invoiceID
                    }
                ))
        case (.failed(_, _, let next), _):
            if case .active = subscription.status {
                try? subscription.markPastDue(at: date)
                steps.append(
                    (
                        .subscriptionPastDue,
                        Tally_V1_SubscriptionPastDue.with {
                            $0.subscriptionID = record.id
                            $0.since = Google_Protobuf_Timestamp(date: date)
                            $0.invoiceID = invoiceID
                        }
                    ))
            }
            if next == nil, case .pastDue(let since) = subscription.status {
                if policy.graceDays > 0 {
                    // From the last attempt, or from when the subscription became past due if a
                    // service marked it so after the attempt was due: a grace always ends after
                    // it began.
                    let start = max(date, since)
                    steps.append(
                        (
                            .gracePeriodStarted,
                            Tally_V1_GracePeriodStarted.with {
                                $0.subscriptionID = record.id
                                $0.until = Google_Protobuf_Timestamp(
                                    date: start.addingTimeInterval(TimeInterval(policy.graceDays) * 86_400))
                            }
                        ))
                } else {
                    steps.append(dunningEnd(record, at: date, policy))
                }
            }
        default:
            break
        }
        return try steps.map { type, payload in
            EventDraft(
                organizationID: record.subscription.organizationID, eventType: type.rawValue, occurredAt: date,
                idempotencyKey: "\(key):\(type.rawValue)",
                actor: "tally.dunning", payload: try payload.deterministicData())
        }
    }

    /// Cancels an open invoice: nothing is owed on it any more.
    public func voidInvoice(_ invoiceID: String, reason: String, at date: Date) async throws {
        try await settle(
            invoiceID, as: .invoiceVoided,
            payload: Tally_V1_InvoiceVoided.with {
                $0.invoiceID = invoiceID
                $0.reason = reason
            }, at: date)
    }

    /// Writes off an open invoice whose collection failed.
    public func markInvoiceUncollectible(_ invoiceID: String, at date: Date) async throws {
        try await settle(
            invoiceID, as: .invoiceMarkedUncollectible,
            payload: Tally_V1_InvoiceMarkedUncollectible.with { $0.invoiceID = invoiceID }, at: date)
    }

    public func invoiceStatus(_ invoiceID: String) throws -> InvoiceStatus? { try live.invoiceStatus(invoiceID) }

    private func settle(
        _ invoiceID: String, as type: BillingEventType, payload: any SwiftProtobuf.Message, at date: Date
    ) async throws {
        guard let organizationID = try live.organization(ofInvoice: invoiceID) else {
            throw EngineError.notFound("invoice \(invoiceID)")
        }
        let bytes = try payload.deterministicData()
        let projections = projections
        _ = try await log.append { decision in
            let invoices = try projections.reader(InvoicesProjector.name, in: decision.transaction)
            let status = try InvoicesProjector.status(of: invoiceID, in: invoices)
            guard status?.state == .open else {
                throw EngineError.conflict(
                    "invoice \(invoiceID) is \(status?.state.name ?? "unknown"): only an open invoice can be \(type == .invoiceVoided ? "voided" : "written off")"
                )
            }
            return [
                EventDraft(organizationID: organizationID, eventType: type.rawValue, occurredAt: date, payload: bytes)
            ]
        }
    }
}
