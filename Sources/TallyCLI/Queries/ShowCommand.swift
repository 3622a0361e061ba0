import ArgumentParser
import Billing
import Foundation
import Tally
import TallyCommands

/// `tally show organization|subscription ID`.
struct ShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Show one organization or subscription, now or as of any date.",
        subcommands: [ShowOrganization.self, ShowSubscription.self])
}

struct ShowOrganization: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "organization",
        abstract: "An organization's details, contract and current subscription.",
        discussion: """
            Example:
              tally show organization org_0042 --as-of 2026-03-01 --format json
            """)

    @OptionGroup var storage: DataDirectoryOptions
    @OptionGroup var query: QueryOptions
    @Argument(help: "The organization id.") var id: String

    func run() async throws {
        let engine = try storage.openExistingEngine()
        let (view, _) = try query.view(of: engine)
        guard let organization = try view.organization(id) else {
            throw fail("no organization \(id)\(query.asOf.map { " as of \($0)" } ?? "")")
        }
        let contract = try view.contract(of: id)
        let subscription = try view.subscription(of: id)
        var output = QueryOutput(
            columns: [
                "id", "name", "billing_email", "country", "tax_id", "currency", "payment_method_on_file",
                "subscription_id", "plan_id", "status",
                "contract_plan_id", "contract_interval", "contract_price", "contract_start", "contract_end",
            ], isSingle: true)
        output.rows = [
            [
                .text(organization.id), .text(organization.name), .text(organization.billingEmail),
                .text(organization.country), .text(organization.taxID),
                .text(organization.currency), .flag(!organization.paymentMethod.isEmpty),
                subscription.map { .text($0.id) } ?? .none, subscription.map { .text($0.subscription.planID) } ?? .none,
                subscription.map { .text($0.subscription.status.name) } ?? .none,
                contract.map { .text($0.basePlanID) } ?? .none,
                contract.map { .text($0.interval.description) } ?? .none,
                contract?.recurringPrice.map { .money($0) } ?? .none, contract.map { .date($0.contractStart) } ?? .none,
                contract.map { .date($0.contractEnd) } ?? .none,
            ]
        ]
        Swift.print(output.render(query.resolvedFormat), terminator: "")
    }
}

struct ShowSubscription: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "subscription",
        abstract: "A subscription: plan, status, period, trial end, price and what is scheduled.",
        discussion: """
            ID is a subscription id (sub_…) or an organization id (its current subscription).

            Example:
              tally show subscription org_0042 --as-of 2026-03-01
            """)

    @OptionGroup var storage: DataDirectoryOptions
    @OptionGroup var query: QueryOptions
    @Argument(help: "A subscription id, or an organization id.") var id: String

    func run() async throws {
        let engine = try storage.openExistingEngine()
        let (view, _) = try query.view(of: engine)
        let record =
            id.hasPrefix("sub_") ? try view.subscriptions().first { $0.id == id } : try view.subscription(of: id)
        guard let record else { throw fail("no subscription \(id)\(query.asOf.map { " as of \($0)" } ?? "")") }
        let subscription = record.subscription
        var trialEnd: OutputValue = .none
        if case .trialing(let end) = subscription.status { trialEnd = .date(end) }
        var endedAt: OutputValue = .none
        if case .canceled(let at) = subscription.status { endedAt = .date(at) }
        if case .expired(let at) = subscription.status { endedAt = .date(at) }
        var output = QueryOutput(
            columns: [
                "id", "organization_id", "plan_id", "status", "interval", "started_at", "trial_ends_at", "period_start",
                "period_end", "recurring_price",
                "cancels_at_period_end", "scheduled_plan_id", "scheduled_interval", "ended_at", "discount_id",
                "discount", "discount_periods_left",
            ], isSingle: true)
        output.rows = [
            [
                .text(record.id), .text(subscription.organizationID), .text(subscription.planID),
                .text(subscription.status.name),
                .text(subscription.interval.description), .date(record.startedAt), trialEnd,
                record.currentPeriod.map { .date($0.start) } ?? .none,
                record.currentPeriod.map { .date($0.end) } ?? .none,
                record.recurringPrice.map { .money($0) } ?? .none, .flag(subscription.cancelsAtPeriodEnd),
                subscription.scheduledChange.map { .text($0.planID) } ?? .none,
                subscription.scheduledChange.map { .text($0.interval.description) } ?? .none,
                endedAt, record.discount.map { .text($0.id) } ?? .none,
                record.discount.map { .text($0.description) } ?? .none,
                record.discount?.periodsLeft.map { .integer(Int64($0)) } ?? .none,
            ]
        ]
        Swift.print(output.render(query.resolvedFormat), terminator: "")
    }
}
