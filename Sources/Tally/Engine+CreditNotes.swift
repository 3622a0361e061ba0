public import Billing
public import BillingEvents
import EventLog
public import Foundation
public import Payments
import Projections
import ReadModels
import SwiftProtobuf
import Synchronization

extension Engine {
    /// Takes back all (`amount` nil) or part of an issued invoice, tax included, with a credit
    /// note numbered gap-free in its series ("CN-" and the UTC year). On an open invoice it
    /// reduces the amount due (credited down to nothing, the invoice is settled as paid). On a
    /// paid invoice the money goes back to the customer through `gateway` (the engine's, if
    /// none is given): the refund is made first, outside any transaction, with an idempotency
    /// key for this credit note, then the credit note and `payment.refunded` are appended in
    /// one commit. A void or uncollectible invoice cannot be credited.
    @discardableResult
    public func issueCreditNote(
        for invoiceID: String, amount: Money? = nil, reason: String, at date: Date,
        refundingThrough gateway: (any PaymentGateway)? = nil
    ) async throws -> Tally_V1_CreditNoteIssued {
        guard (1...500).contains(reason.count) else {
            throw EngineError.invalid(field: "reason", rule: "must be 1 to 500 characters, got \(reason.count)")
        }
        guard let invoice = try live.invoice(invoiceID),
            let organizationID = try live.organization(ofInvoice: invoiceID),
            let status = try invoiceStatus(invoiceID)
        else {
            throw EngineError.notFound("invoice \(invoiceID)")
        }
        guard status.state == .open || status.state == .paid else {
            throw EngineError.conflict(
                "invoice \(invoiceID) is \(status.state.name): only an open or paid invoice can be credited")
        }
        let credit: CreditNoteAmounts
        do throws(BillingError) {
            let currency = try Currency(status.currency)
            credit = try CreditNoteAmounts(
                amount, invoiceTotal: try invoice.total.decoded(field: "total"),
                invoiceTax: try invoice.tax.decoded(field: "tax"),
                credited: Money(minorUnits: status.credited, currency: currency),
                creditedTax: Money(minorUnits: status.creditedTax, currency: currency))
        } catch {
            throw EngineError.invalid(
                field: Self.field(of: error) == "plan" ? "amount" : Self.field(of: error), rule: Self.rule(of: error))
        }
        let noteKey = "\(invoiceID)-credit-\(status.creditNotes + 1)"
        let refund: Refund?
        if status.state == .paid {
            guard let gateway = gateway ?? self.gateway else {
                throw EngineError.invalid(
                    field: "gateway",
                    rule:
                        "invoice \(invoiceID) is paid: crediting it refunds the customer, which needs a payment gateway"
                )
            }
            guard let intentID = status.paymentIntentID, credit.amount.minorUnits <= status.amountPaid - status.refunded
            else {
                throw EngineError.invalid(
                    field: "amount",
                    rule: "at most the \(status.amountPaid - status.refunded) minor units paid and not yet refunded")
            }
            refund = try await gateway.refund(intentID, amount: credit.amount, idempotencyKey: noteKey)
        } else if credit.amount.minorUnits > status.amountDue {
            throw EngineError.invalid(
                field: "amount", rule: "at most the \(status.amountDue) minor units still due on invoice \(invoiceID)")
        } else {
            refund = nil
        }
        let projections = projections
        let series = "CN-\(Calendar.utcGregorian.component(.year, from: date))"
        let creditNotesBefore = status.creditNotes
        let applied = refund == nil ? "amount_due" : "refund"
        let decided = Mutex<Tally_V1_CreditNoteIssued?>(nil)
        _ = try await log.append { decision in
            if try decision.sequence(ofIdempotencyKey: noteKey, organizationID: organizationID) != nil { return [] }
            let invoices = try projections.reader(InvoicesProjector.name, in: decision.transaction)
            guard let current = try InvoicesProjector.status(of: invoiceID, in: invoices),
                current.creditNotes == creditNotesBefore,
                current.state == status.state
            else {
                throw EngineError.conflict(
                    "invoice \(invoiceID) changed while it was being credited\(refund.map { " (refund \($0.id) was made)" } ?? "")"
                )
            }
            let number = try InvoicesProjector.lastNumber(in: series, invoices) + 1
            let note = Tally_V1_CreditNoteIssued.with {
                $0.creditNoteID = Self.invoiceID(series: series, number: number)
                $0.series = series
                $0.number = number
                $0.invoiceID = invoiceID
                $0.reason = reason
                $0.amount = Tally_V1_Money(credit.amount)
                $0.tax = Tally_V1_Money(credit.tax)
                $0.appliedTo = applied
                $0.periodStart = invoice.periodStart
                $0.periodEnd = invoice.periodEnd
            }
            decided.withLock { $0 = note }
            var drafts = [
                EventDraft(
                    organizationID: organizationID, eventType: BillingEventType.creditNoteIssued.rawValue,
                    occurredAt: date, idempotencyKey: noteKey,
                    payload: try note.deterministicData())
            ]
            if let refund {
                drafts.append(
                    EventDraft(
                        organizationID: organizationID, eventType: BillingEventType.paymentRefunded.rawValue,
                        occurredAt: date,
                        idempotencyKey: noteKey + ":refund",
                        payload: try Tally_V1_PaymentRefunded.with {
                            $0.invoiceID = invoiceID
                            $0.paymentIntentID = refund.paymentIntentID
                            $0.refundID = refund.id
                            $0.amount = Tally_V1_Money(refund.amount)
                            $0.creditNoteID = note.creditNoteID
                        }.deterministicData()))
            }
            return drafts
        }
        if let note = decided.withLock({ $0 }) { return note }
        // Recorded already under this key (a concurrent retry of the same call): that note.
        let notes = try live.creditNotes(of: invoiceID)
        guard notes.count > Int(creditNotesBefore) else { throw EngineError.notFound("credit note \(noteKey)") }
        return notes[Int(creditNotesBefore)]
    }
}
