import ArgumentParser
import Billing
import BillingEvents
import Foundation
import SwiftProtobuf
import Tally
import TallyCommands

/// `tally invoices ORG`.
struct InvoicesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "invoices",
        abstract: "An organization's invoices, oldest first, then its drafts.",
        discussion: """
            Issued invoices with their state (open, paid, void, uncollectible) and what is still
            due after payments and credit notes; then drafts (closed periods waiting for late
            usage), with the amounts as they stood when drafted.

            Example:
              tally invoices org_0042 --format csv
            """)

    @OptionGroup var storage: DataDirectoryOptions
    @OptionGroup var query: QueryOptions
    @Argument(help: "The organization id.") var organization: String

    func run() async throws {
        let engine = try storage.openExistingEngine()
        let (view, _) = try query.view(of: engine)
        guard try view.organization(organization) != nil else { throw fail("no organization \(organization)") }
        var output = QueryOutput(columns: [
            "number", "status", "period_start", "period_end", "subtotal", "discounts", "tax", "total", "credited",
            "amount_due",
        ])
        for invoice in try view.invoices(of: organization) {
            let status = try view.invoiceStatus(invoice.invoiceID)
            let currency = invoice.currency
            output.rows.append([
                .text(invoice.invoiceID), .text(status?.state.name ?? ""), .date(invoice.periodStart.date),
                .date(invoice.periodEnd.date),
                OutputValue(invoice.subtotal), OutputValue(invoice.discounts), OutputValue(invoice.tax),
                OutputValue(invoice.total),
                OutputValue(
                    Tally_V1_Money.with {
                        $0.minorUnits = status?.credited ?? 0
                        $0.currency = currency
                    }),
                OutputValue(
                    Tally_V1_Money.with {
                        $0.minorUnits = status?.amountDue ?? invoice.amountDue.minorUnits
                        $0.currency = currency
                    }),
            ])
        }
        for draft in try view.drafts(of: organization) {
            let preview = draft.preview
            output.rows.append([
                .text(draft.draftID), .text("draft"), .date(draft.periodStart.date), .date(draft.periodEnd.date),
                OutputValue(preview.subtotal),
                OutputValue(preview.discounts), OutputValue(preview.tax), OutputValue(preview.total), .none,
                OutputValue(preview.amountDue),
            ])
        }
        Swift.print(output.render(query.resolvedFormat), terminator: "")
    }
}

/// `tally invoice NUMBER`.
struct InvoiceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "invoice",
        abstract: "One invoice: readable on a terminal, or its event's payload as JSON.",
        discussion: """
            NUMBER as printed, e.g. 2026-000042. --format json prints the invoice.issued payload
            in the proto3 JSON mapping; csv its lines.

            Example:
              tally invoice 2026-000042
            """)

    @OptionGroup var storage: DataDirectoryOptions
    @OptionGroup var query: QueryOptions
    @Argument(help: "The invoice number, such as 2026-000042.") var number: String

    func run() async throws {
        let engine = try storage.openExistingEngine()
        let (view, _) = try query.view(of: engine)
        guard let invoice = try view.invoice(number) else {
            throw fail("no invoice \(number) (numbers look like 2026-000042)")
        }
        let organization = try view.organization(ofInvoice: number).flatMap { try view.organization($0) }
        let status = try view.invoiceStatus(number)
        let creditNotes = try view.creditNotes(of: number)
        switch query.resolvedFormat {
        case .json:
            Swift.print(try invoice.jsonString())
        case .csv:
            var output = QueryOutput(columns: ["kind", "description", "quantity", "amount", "tax"])
            for line in invoice.lines {
                output.rows.append([
                    .text(line.kind), .text(line.description_p), line.quantity == 0 ? .none : .integer(line.quantity),
                    OutputValue(line.amount), OutputValue(line.tax),
                ])
            }
            Swift.print(output.render(.csv), terminator: "")
        case .table:
            Swift.print(Self.readable(invoice, organization: organization, status: status, creditNotes: creditNotes))
        }
    }

    static func readable(
        _ invoice: Tally_V1_InvoiceIssued, organization: Organization?, status: InvoiceStatus?,
        creditNotes: [Tally_V1_CreditNoteIssued]
    ) -> String {
        let amount = { (value: Tally_V1_Money) in
            (try? value.decoded(field: "amount")).map { "\($0.decimalValue) \($0.currency.code)" } ?? ""
        }
        let day = { (timestamp: Google_Protobuf_Timestamp) in timestamp.date.formatted(.iso8601.year().month().day()) }
        var lines = ["INVOICE \(invoice.invoiceID)" + (status.map { "  [\($0.state.name)]" } ?? "")]
        if let organization {
            lines.append(
                "To: \(organization.name) (\(organization.id)), \(organization.billingEmail), \(organization.country)")
        }
        if !invoice.reverseChargeVatID.isEmpty { lines.append("VAT ID: \(invoice.reverseChargeVatID)") }
        lines.append(
            "Period: \(day(invoice.periodStart)) to \(day(invoice.periodEnd)) (subscription \(invoice.subscriptionID))")
        lines.append("")
        let width = max(40, invoice.lines.map(\.description_p.count).max() ?? 0)
        for line in invoice.lines {
            lines.append(
                "  " + line.description_p.padding(toLength: width, withPad: " ", startingAt: 0)
                    + amount(line.amount).rightAligned(18))
        }
        lines.append("  " + String(repeating: "-", count: width + 18))
        lines.append(
            "  " + "Subtotal".padding(toLength: width, withPad: " ", startingAt: 0)
                + amount(invoice.subtotal).rightAligned(18))
        if (try? invoice.discounts.decoded(field: "discounts").isZero) == false {
            lines.append(
                "  " + "Discounts".padding(toLength: width, withPad: " ", startingAt: 0)
                    + amount(invoice.discounts).rightAligned(18))
        }
        let taxLabel =
            invoice.taxName.isEmpty ? "Tax" : "\(invoice.taxName) \(invoice.taxPercent)% (\(invoice.taxJurisdiction))"
        lines.append(
            "  " + taxLabel.padding(toLength: width, withPad: " ", startingAt: 0) + amount(invoice.tax).rightAligned(18)
        )
        lines.append(
            "  " + "Total".padding(toLength: width, withPad: " ", startingAt: 0)
                + amount(invoice.total).rightAligned(18))
        lines.append(
            "  " + "Amount due".padding(toLength: width, withPad: " ", startingAt: 0)
                + amount(invoice.amountDue).rightAligned(18))
        if !creditNotes.isEmpty {
            lines.append("")
            for note in creditNotes {
                let label =
                    "Credit note \(note.creditNoteID), \(note.appliedTo == "refund" ? "refunded" : "off the amount due")"
                lines.append(
                    "  " + label.padding(toLength: max(width, label.count), withPad: " ", startingAt: 0)
                        + ("-" + amount(note.amount)).rightAligned(18))
                lines.append("    " + note.reason)
            }
        }
        if let status {
            let currency = invoice.currency
            lines.append(
                "  " + "Still due".padding(toLength: width, withPad: " ", startingAt: 0)
                    + amount(
                        Tally_V1_Money.with {
                            $0.minorUnits = status.amountDue
                            $0.currency = currency
                        }
                    ).rightAligned(18))
        }
        if !invoice.note.isEmpty { lines += ["", invoice.note] }
        return lines.joined(separator: "\n")
    }
}

/// `tally payments ORG`.
struct PaymentsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "payments",
        abstract: "An organization's payment attempts and refunds, with the gateway's codes.",
        discussion: """
            One row per attempt, oldest first: when, the invoice, the payment intent, the outcome,
            the amount, and for a failure its code, message, attempt number and the next retry;
            refunds (of credit notes) as outcome "refunded", with the refund id as the code.
            --as-of limits them to what had happened by then.

            Example:
              tally payments org_0042 --format csv
            """)

    @OptionGroup var storage: DataDirectoryOptions
    @OptionGroup var query: QueryOptions
    @Argument(help: "The organization id.") var organization: String

    func run() async throws {
        let engine = try storage.openExistingEngine()
        guard try engine.organization(organization) != nil else { throw fail("no organization \(organization)") }
        let point = try query.point()
        var output = QueryOutput(columns: [
            "at", "invoice", "payment_intent", "outcome", "amount", "failure_code", "failure_message", "attempt",
            "next_attempt_at",
        ])
        for event in try engine.events(forOrganization: organization) {
            switch point {
            case .sequence(let last) where event.sequence > last: continue
            case .occurredAt(let date) where event.occurredAt > date: continue
            default: break
            }
            if event.eventType == BillingEventType.paymentSucceeded.rawValue {
                let paid = try Tally_V1_PaymentSucceeded(serializedBytes: event.payload)
                output.rows.append([
                    .date(event.occurredAt), .text(paid.invoiceID), .text(paid.paymentIntentID), .text("succeeded"),
                    OutputValue(paid.amount), .none, .none, .none, .none,
                ])
            } else if event.eventType == BillingEventType.paymentFailed.rawValue {
                let failed = try Tally_V1_PaymentFailed(serializedBytes: event.payload)
                output.rows.append([
                    .date(event.occurredAt), .text(failed.invoiceID), .text(failed.paymentIntentID), .text("failed"),
                    OutputValue(failed.amount),
                    .text(failed.failureCode), .text(failed.failureMessage), .integer(Int64(failed.attempt)),
                    failed.hasNextAttemptAt ? .date(failed.nextAttemptAt.date) : .none,
                ])
            } else if event.eventType == BillingEventType.paymentRefunded.rawValue {
                let refund = try Tally_V1_PaymentRefunded(serializedBytes: event.payload)
                output.rows.append([
                    .date(event.occurredAt), .text(refund.invoiceID), .text(refund.paymentIntentID), .text("refunded"),
                    OutputValue(refund.amount),
                    .text(refund.refundID), .text("credit note \(refund.creditNoteID)"), .none, .none,
                ])
            }
        }
        Swift.print(output.render(query.resolvedFormat), terminator: "")
    }
}

extension OutputValue {
    /// A stored amount as money, or nothing when it does not decode.
    init(_ money: Tally_V1_Money) {
        self = (try? money.decoded(field: "amount")).map { .money($0) } ?? .none
    }
}
