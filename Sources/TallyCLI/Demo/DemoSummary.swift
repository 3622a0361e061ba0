import Billing
import EventLog
import Foundation
import Tally

/// What the demo left behind, read back from the log and the read models.
struct DemoSummary {
    let engine: Engine
    let tally: SaaSSimulation.Counts
    let seconds: Double
    let end: Date

    func print() throws {
        let grouped = ProgressReporter.grouped
        guard let head = try engine.head() else { return }
        Swift.print(
            "  \(grouped(Int(head.sequence))) events in \(String(format: "%.1f", seconds)) s (\(grouped(Int(Double(head.sequence) / seconds))) events/s, every commit durable)"
        )

        var byType: [String: Int] = [:]
        try engine.forEachEvent { event in
            byType[event.eventType, default: 0] += 1
            return true
        }
        Swift.print("\nEvents by type")
        for (type, count) in byType.sorted(by: { ($0.value, $1.key) > ($1.value, $0.key) }) {
            Swift.print(
                "  \(type.padding(toLength: 40, withPad: " ", startingAt: 0)) \(grouped(count).rightAligned(12))")
        }

        let subscriptions = try engine.subscriptions()
        let plans = ["free", "professional", "enterprise"]
        let statuses = ["trialing", "active", "past_due", "grace", "canceled", "expired"]
        Swift.print("\nSubscriptions by status and plan")
        Swift.print(
            "  " + "".padding(toLength: 12, withPad: " ", startingAt: 0) + plans.map { $0.rightAligned(14) }.joined())
        for status in statuses {
            let row = plans.map { plan in
                subscriptions.filter { $0.subscription.status.name == status && $0.subscription.planID == plan }.count
            }
            guard row.contains(where: { $0 > 0 }) else { continue }
            Swift.print(
                "  " + status.padding(toLength: 12, withPad: " ", startingAt: 0)
                    + row.map { grouped($0).rightAligned(14) }.joined())
        }
        let canceling = subscriptions.filter(\.subscription.cancelsAtPeriodEnd).count
        let scheduled = subscriptions.filter { $0.subscription.scheduledChange != nil }.count
        Swift.print("  (\(canceling) canceling at period end, \(scheduled) with a plan change scheduled)")

        var states: [String: Int] = [:]
        let now = end.addingTimeInterval(-1)
        for record in subscriptions where record.subscription.status.isLive {
            guard let plan = try engine.plan(record.subscription.planID)?.plan else { continue }
            for metric in plan.metrics.keys {
                states[
                    try engine.quota(for: record.subscription.organizationID, metric: metric, at: now).state.rawValue,
                    default: 0] += 1
            }
        }
        Swift.print("\nQuotas in the current period (organization × metric)")
        for state in ["within_included", "over_included", "soft_limit_reached", "hard_limit_reached"] {
            Swift.print(
                "  \(state.padding(toLength: 20, withPad: " ", startingAt: 0)) \(grouped(states[state] ?? 0).rightAligned(8))"
            )
        }
        Swift.print("  requests blocked at a hard limit: \(grouped(tally.blocked))")

        let monthStart = Calendar.utcGregorian.date(byAdding: .month, value: -1, to: end)!
        var top: [(String, Int64)] = []
        for organization in try engine.organizations() {
            let calls = try engine.usage(of: organization.id, metric: "api_calls", from: monthStart, to: now).reduce(0)
            { $0 + $1.rollup.sum }
            top.append((organization.id, calls))
        }
        Swift.print("\nTop API usage in \(monthStart.formatted(.dateTime.month(.wide).year()))")
        for (organization, calls) in top.sorted(by: { ($0.1, $1.0) > ($1.1, $0.0) }).prefix(5) {
            let name = try engine.organization(organization)?.name ?? ""
            Swift.print(
                "  \(organization)  \(name.padding(toLength: 24, withPad: " ", startingAt: 0)) \(grouped(Int(calls)).rightAligned(14)) calls"
            )
        }

        var invoiceCount = 0
        var lateLines = 0
        var billed: Int64 = 0
        var largest: (id: String, organization: String, minorUnits: Int64)?
        for organization in try engine.organizations() {
            for invoice in try engine.live.invoices(of: organization.id) {
                invoiceCount += 1
                billed += invoice.total.minorUnits
                lateLines += invoice.lines.count { $0.kind == "late_usage" }
                if invoice.total.minorUnits > largest?.minorUnits ?? .min {
                    largest = (invoice.invoiceID, organization.id, invoice.total.minorUnits)
                }
            }
        }
        Swift.print(
            "\nInvoices (billed in arrears: drafted at each period's end, finalized after the late-usage grace)")
        Swift.print(
            "  \(grouped(invoiceCount)) issued, \(Self.dollars(billed)) in total, \(grouped(lateLines)) late-usage lines, \(grouped(tally.creditNotes)) credit notes refunded"
        )
        if let largest {
            Swift.print("  the largest: \(largest.id) to \(largest.organization), \(Self.dollars(largest.minorUnits))")
        }
        Swift.print(
            "  payments (collected by advance): \(grouped(tally.paymentsSucceeded)) succeeded, \(grouped(tally.paymentsFailed)) failed"
        )
        Swift.print(
            "  dunning: \(grouped(tally.cardsFixed)) cards fixed, \(grouped(tally.recoveries)) subscriptions recovered, \(grouped(tally.dunningEnded)) ran out of retries (grace, then canceled)"
        )

        try printRevenue(at: now)

        Swift.print("\nTraffic")
        Swift.print(
            "  usage records sent \(grouped(tally.usageSent)): retries absorbed \(grouped(tally.retriesAbsorbed)), late arrivals \(grouped(tally.lateUsage)), corrections \(grouped(tally.corrections)), refused \(grouped(tally.refused))"
        )
        Swift.print("\nHead \(head.sequence) \(head.hash.hex)")
        Swift.print(
            "  \(grouped(engine.storageSize().usedBytes / Int(head.sequence))) bytes on disk per event, read models included"
        )
    }
}

extension DemoSummary {
    /// MRR, ARR, the last whole month's movements and the riskiest organizations.
    func printRevenue(at now: Date) throws {
        let grouped = ProgressReporter.grouped
        let today = UTCDay.number(of: now)
        // The last whole month before the demo's end.
        let lastMonth = CalendarMonth(containing: UTCDay.number(of: end)).advanced(by: -1)
        for ledger in try engine.live.revenueLedgers() {
            let standing = ledger.standing(atEndOf: today)
            let month = ledger.metrics(for: lastMonth)
            let movements = month.interval.movements
            let amount = { (kind: MRRMovement.Kind) in
                "\(Self.money(movements.amount(kind), ledger.currency)) (\(movements.count(kind)))"
            }
            Swift.print("\nRecurring revenue (\(ledger.currency.code))")
            Swift.print(
                "  MRR \(Self.money(standing.mrr, ledger.currency)), ARR \(Self.money(standing.mrr * 12, ledger.currency)), \(grouped(Int(standing.customers))) paying customers"
            )
            Swift.print(
                "  \(lastMonth): new \(amount(.newBusiness)), expansion \(amount(.expansion)), contraction \(amount(.contraction)), churn \(amount(.churn)), reactivation \(amount(.reactivation))"
            )
            Swift.print(
                "  \(lastMonth): net change \(Self.money(movements.net, ledger.currency)); logo churn \(month.customerChurnRate.percent().map { "\($0)%" } ?? "n/a"), net revenue retention \(month.netRevenueRetention.percent().map { "\($0)%" } ?? "n/a")"
            )
        }
        let flagged = try engine.live.flaggedForecasts(at: now)
        let expected = flagged.filter { $0.outlook == .hardLimitExpected }
        Swift.print("\nUsage forecasts (Holt's trend to each period's end)")
        Swift.print(
            "  \(grouped(expected.count)) organization × metric expected to reach the hard limit before the period ends, \(grouped(flagged.count { $0.outlook == .hardLimitReached })) already there, \(grouped(flagged.count { $0.outlook == .softLimitExpected })) heading past the soft limit"
        )
        if let first = expected.min(by: {
            ($0.hardLimitDay ?? .distantFuture, $0.organizationID) < (
                $1.hardLimitDay ?? .distantFuture, $1.organizationID
            )
        }), let day = first.hardLimitDay {
            Swift.print(
                "  the soonest: \(first.organizationID) \(first.metric), \(grouped(Int(first.currentUsage))) of \(grouped(Int(first.hardLimit ?? 0))) now, the limit on \(day.formatted(.iso8601.year().month().day()))"
            )
        }
        let risks = try engine.live.churnRisks(at: now).prefix(5)
        guard !risks.isEmpty else { return }
        Swift.print("\nRiskiest organizations (churn-risk score, the signals behind it)")
        for entry in risks {
            let signals = entry.risk.signals.filter { $0.points > 0 }.prefix(3).map {
                "\($0.name.rawValue) \($0.points)"
            }.joined(separator: ", ")
            Swift.print(
                "  \(entry.organizationID)  \(String(entry.risk.score).rightAligned(3))  \(entry.planID.padding(toLength: 13, withPad: " ", startingAt: 0)) \(signals)"
            )
        }
    }

    /// Minor units with the currency's code: "USD 1,234.56".
    static func money(_ minorUnits: Int64, _ currency: Currency) -> String {
        var scale: Int64 = 1
        for _ in 0..<currency.exponent { scale *= 10 }
        let major = ProgressReporter.grouped(Int(minorUnits.magnitude / UInt64(scale)))
        let minor =
            currency.exponent == 0
            ? "" : "." + String(String(minorUnits.magnitude % UInt64(scale) + UInt64(scale)).dropFirst())
        return "\(currency.code) \(minorUnits < 0 ? "-" : "")\(major)\(minor)"
    }

    /// USD minor units as "$1,234.56" (the demo bills in USD).
    static func dollars(_ minorUnits: Int64) -> String {
        "$\(ProgressReporter.grouped(Int(minorUnits / 100))).\(String(format: "%02d", Int(abs(minorUnits % 100))))"
    }
}

extension String {
    /// Right-aligned in `width` columns (numbers line up).
    func rightAligned(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
