import Billing
import BillingEvents
import EventLog
import Foundation
import Payments
import Tally

/// A SaaS business lived day by day through the engine's public API: signups over time,
/// trials that convert or expire, upgrades and downgrades, enterprise contracts, seasonal
/// usage on every standard metric attributed to users and resources, retries, late and
/// corrected usage, quota warnings and blocks, cancellations and reactivations; time is
/// advanced as it passes. Everything is drawn from the seed, so a seed gives one history.
struct SaaSSimulation {
    let engine: Engine
    let organizations: [DemoOrganization]
    let start: Date
    let end: Date
    let seed: UInt64

    /// What happened, beyond what the log itself says.
    struct Counts {
        var usageSent = 0
        var retriesAbsorbed = 0
        var lateUsage = 0
        var blocked = 0
        var refused = 0
        var corrections = 0
        var lifecycleCommands = 0
        var paymentsSucceeded = 0
        var paymentsFailed = 0
        var recoveries = 0
        var dunningEnded = 0
        var cardsFixed = 0
        var creditNotes = 0
    }

    init(engine: Engine, organizations count: Int, months: Int, seed: UInt64, end: Date) {
        self.engine = engine
        self.seed = seed
        self.end = end
        let first = Calendar.utcGregorian.date(byAdding: .month, value: -months, to: end)!
        start = first
        let window = end.timeIntervalSince(first) * 0.6
        organizations = (0..<count).map { DemoOrganization(index: $0, seed: seed, start: first, signupWindow: window) }
            .sorted { $0.signup < $1.signup }
    }

    var days: Int { Int(end.timeIntervalSince(start) / 86_400) }

    func run(progress: (Int, Int) -> Void) async throws -> Counts {
        var tally = Counts()
        try await engine.initializeDefaultPlans(at: start)
        let plans = Dictionary(uniqueKeysWithValues: try engine.plans().map { ($0.plan.id, $0.plan) })
        var nextSignup = 0
        var lastCorrectable: [(organization: String, sequence: UInt64, quantity: Int64)] = []
        for day in 0..<days {
            let dayStart = start.addingTimeInterval(Double(day) * 86_400)
            // Time passes: periods close, drafts are finalized and collected, dunning runs.
            tally.count(try await engine.advance(to: dayStart))
            while nextSignup < organizations.count,
                organizations[nextSignup].signup < dayStart.addingTimeInterval(86_400)
            {
                try await signUp(organizations[nextSignup])
                tally.lifecycleCommands += 3
                nextSignup += 1
            }
            let records = Dictionary(
                uniqueKeysWithValues: try engine.subscriptions().map { ($0.subscription.organizationID, $0) })
            var batch: [UsageRecord] = []
            for organization in organizations[..<nextSignup] {
                guard let record = records[organization.id] else { continue }
                tally.lifecycleCommands += try await lifecycle(
                    organization, record, day: day, at: dayStart.addingTimeInterval(7_200))
                try await payments(
                    organization, record, day: day, at: dayStart.addingTimeInterval(10_800), tally: &tally)
                guard record.subscription.status.isLive, record.startedAt < dayStart,
                    let plan = plans[record.subscription.planID]
                else { continue }
                batch += usage(
                    of: organization, on: plan, day: day, dayStart: dayStart, startedAt: record.startedAt, tally: &tally
                )
            }
            let results = try await engine.recordUsage(batch)
            tally.usageSent += batch.count
            var correctable: [(String, UInt64, Int64)] = []
            for (usage, result) in zip(batch, results) {
                switch result {
                case .success(let receipt) where receipt.isDuplicate: tally.retriesAbsorbed += 1
                case .success(let receipt):
                    if usage.metric == "api_calls", usage.quantity > 10, receipt.sequence % 997 == 0 {
                        correctable.append((usage.organizationID, receipt.sequence, usage.quantity))
                    }
                case .failure(.quotaExceeded): tally.blocked += 1
                case .failure: tally.refused += 1
                }
            }
            // Yesterday's double-counted calls, found by the customer's own audit, corrected.
            for (organization, sequence, quantity) in lastCorrectable {
                try await engine.correctUsage(
                    organization, originalSequence: sequence, delta: -quantity / 2,
                    reason: "a client retried without an idempotency key",
                    at: dayStart.addingTimeInterval(43_200), idempotencyKey: "correction-\(sequence)")
                tally.corrections += 1
            }
            lastCorrectable = correctable
            progress(day + 1, tally.usageSent)
        }
        tally.count(try await engine.advance(to: end))
        return tally
    }

    // MARK: Payments

    /// What customers do about money: some fix a declined card while dunning retries (a day
    /// at a time, so some do not in time); now and then a paying customer gets a service
    /// credit for an outage, refunded through the gateway.
    private func payments(
        _ organization: DemoOrganization, _ record: SubscriptionRecord, day: Int, at date: Date, tally: inout Counts
    ) async throws {
        var random = DemoRandom(seed, organization.index, 1_000_000 + day)
        switch record.subscription.status {
        case .pastDue, .grace, .unpaid:
            if random.chance(0.12) {
                try await engine.updateOrganization(
                    organization.id, OrganizationUpdate(paymentMethod: "pm_card_visa"), at: date)
                tally.cardsFixed += 1
            }
        default:
            guard day % 30 == 17, organization.index % 23 == 0,
                let invoice = try engine.live.invoices(of: organization.id).last,
                try engine.invoiceStatus(invoice.invoiceID)?.state == .paid, invoice.total.minorUnits >= 1_000
            else { return }
            let credit = Money(minorUnits: invoice.total.minorUnits / 10, currency: .usd)
            try await engine.issueCreditNote(
                for: invoice.invoiceID, amount: credit, reason: "service credit: API outage (SLA)", at: date)
            tally.creditNotes += 1
        }
    }

    // MARK: Signups

    private func signUp(_ organization: DemoOrganization) async throws {
        try await engine.register(
            OrganizationRegistration(
                id: organization.id, name: organization.name,
                billingEmail: "billing@\(organization.id.replacingOccurrences(of: "_", with: "-")).example",
                country: organization.country, currency: .usd,
                paymentMethod: organization.hasCard ? organization.card : ""), at: organization.signup)
        if organization.hasContract {
            try await engine.agreeCustomPricing(
                CustomPricing(
                    organizationID: organization.id, basePlanID: "enterprise", currency: .usd, interval: .quarterly,
                    recurringPrice: Money(minorUnits: Int64(900_00 + organization.index % 7 * 100_00), currency: .usd),
                    included: ["api_calls": 50_000_000], minimumCommitment: Money(minorUnits: 1_500_00, currency: .usd),
                    volumeDiscounts: [
                        .init(threshold: Money(minorUnits: 5_000_00, currency: .usd), percentOff: try ExactDecimal("5"))
                    ],
                    contractStart: organization.signup,
                    contractEnd: Calendar.utcGregorian.date(byAdding: .year, value: 1, to: organization.signup)!),
                at: organization.signup)
        }
        try await engine.subscribe(
            organization.id, to: organization.firstPlan,
            interval: organization.hasContract ? .quarterly : organization.interval,
            at: organization.signup, idempotencyKey: "signup-\(organization.id)")
        if organization.index % 9 == 4, organization.firstPlan != "free" {
            // A launch offer: a quarter off the first two paid periods.
            try await engine.applyDiscount(
                organization.id, RecurringDiscount(id: "launch25", value: .percentOff(ExactDecimal(25)), periods: 2),
                at: organization.signup)
        }
        if organization.users > 40 {
            // A big customer caps its own API spend below the plan's limit.
            try await engine.configureQuota(
                organization.id, metric: "api_calls", softLimit: 3_000_000, hardLimit: 4_000_000,
                at: organization.signup)
        }
    }

    // MARK: Lifecycle

    /// Plan changes, cancellations, reactivations and returns, with small daily chances.
    /// Returns how many commands it issued.
    private func lifecycle(_ organization: DemoOrganization, _ record: SubscriptionRecord, day: Int, at date: Date)
        async throws -> Int
    {
        var random = DemoRandom(seed, organization.index, day)
        let subscription = record.subscription
        guard date > record.startedAt else { return 0 }
        do {
            switch subscription.status {
            case .canceled, .expired:
                if !organization.hasCard, random.chance(0.02) {
                    try await engine.updateOrganization(
                        organization.id, OrganizationUpdate(paymentMethod: "pm_card_mastercard"), at: date)
                    return 1
                }
                guard random.chance(0.006) else { return 0 }
                try await engine.subscribe(
                    organization.id, to: random.chance(0.6) ? "free" : "professional", interval: .monthly, at: date)
                return 1
            case .trialing, .active:
                if subscription.cancelsAtPeriodEnd {
                    guard random.chance(0.04) else { return 0 }
                    try await engine.reactivateSubscription(organization.id, at: date)
                    return 1
                }
                let roll = Double.random(in: 0..<1, using: &random)
                switch subscription.planID {
                case "free" where roll < 0.004:
                    try await engine.changePlan(organization.id, to: "professional", interval: .monthly, at: date)
                case "professional" where roll < 0.0006:
                    try await engine.changePlan(
                        organization.id, to: "enterprise", interval: subscription.interval, at: date)
                case "professional" where roll < 0.0016:
                    // a downgrade: at period end
                    try await engine.changePlan(organization.id, to: "free", interval: .monthly, at: date)
                case "professional" where roll < 0.0020 && record.discount == nil && record.recurringPrice != nil,
                    "enterprise" where roll < 0.0020 && record.discount == nil && record.recurringPrice != nil:
                    // Customer success saves a wavering customer: 20% off the next three periods.
                    try await engine.applyDiscount(
                        organization.id,
                        RecurringDiscount(id: "save20-\(day)", value: .percentOff(ExactDecimal(20)), periods: 3),
                        at: date)
                case _ where roll > 0.9985:
                    try await engine.cancelSubscription(organization.id, at: date, immediately: roll > 0.9997)
                default:
                    return 0
                }
                return 1
            default:
                return 0
            }
        } catch is EngineError {
            return 1  // refused (an archived plan, a state that moved on): part of real traffic
        }
    }

    // MARK: Usage

    static let apiResources = 12

    /// One day of an organization's usage: seasonal (quieter weekends, a summer dip, a
    /// year-end peak), per user and resource, with a few retries and late arrivals.
    private func usage(
        of organization: DemoOrganization, on plan: Plan, day: Int, dayStart: Date, startedAt: Date, tally: inout Counts
    ) -> [UsageRecord] {
        var random = DemoRandom(seed, organization.index, day + 1_000_000)
        let weekday = Calendar.utcGregorian.component(.weekday, from: dayStart)
        let month = Calendar.utcGregorian.component(.month, from: dayStart)
        let weekly = weekday == 1 || weekday == 7 ? 0.35 : 1.0
        let seasonal = 1.0 + 0.25 * sin(Double(month - 3) / 12 * 2 * .pi)
        var active = max(
            1, Int(Double(organization.users) * weekly * seasonal * Double.random(in: 0.4...0.8, using: &random)))
        if plan.id == "free" {
            // Free allows 3 users; now and then a fourth tries and is refused at the hard limit.
            active = min(active, random.chance(0.05) ? 4 : 3)
        }
        var records: [UsageRecord] = []
        func record(_ metric: String, _ quantity: Int64, user: String = "", resource: String = "") {
            guard plan.metrics[metric] != nil else { return }
            var at = dayStart.addingTimeInterval(Double(random.next() % 86_000))
            if random.chance(0.01), at.addingTimeInterval(-172_800) > startedAt {
                at = at.addingTimeInterval(-172_800)  // arrives two days late
                tally.lateUsage += 1
            }
            records.append(
                UsageRecord(
                    organizationID: organization.id, metric: metric, quantity: quantity, userID: user,
                    resourceID: resource, occurredAt: at,
                    idempotencyKey: "\(organization.id)-\(day)-\(records.count)"))
        }
        for index in 0..<active {
            let user = "usr_\(plan.id == "free" ? index : (index * 7 + day) % organization.users)"
            record("active_users", 1, user: user)
            let calls = Int64(20 + random.next() % 180) * (plan.id == "free" ? 1 : organization.intensity)
            record("api_calls", calls, user: user, resource: "dash_\(random.next() % UInt64(Self.apiResources))")
        }
        record(
            "storage_bytes", Int64(organization.users) * 40_000_000 + Int64(day) * 1_500_000 * organization.intensity)
        if day % 7 == 0 { record("dashboards", Int64(2 + organization.users / 3)) }
        record("realtime_connections", Int64(active * 3) + Int64(random.next() % 20))
        if random.chance(0.3) { record("data_exports", 1, user: "usr_0") }
        record("compute_seconds", Int64(active * 120) + Int64(random.next() % 600))
        if day % 2 == 0 { record("data_points", Int64(active) * 5_000) }
        // A client whose response was lost sends the same request again.
        for index in records.indices where random.chance(0.015) { records.append(records[index]) }
        return records
    }
}

extension SaaSSimulation.Counts {
    /// Adds what one `advance` did to the money side of the story.
    mutating func count(_ report: AdvanceReport) {
        paymentsSucceeded += report.appended[BillingEventType.paymentSucceeded.rawValue] ?? 0
        paymentsFailed += report.appended[BillingEventType.paymentFailed.rawValue] ?? 0
        recoveries += report.appended[BillingEventType.subscriptionRecovered.rawValue] ?? 0
        dunningEnded += report.appended[BillingEventType.gracePeriodStarted.rawValue] ?? 0
    }
}
