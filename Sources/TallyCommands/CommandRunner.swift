import Billing
import BillingEvents
import EventLog
import Foundation
import SwiftProtobuf
public import Tally

/// Carries out `Tally_V1_Command`s through the engine's public API: what `tally append`
/// does with each line, and what every other adapter does with a command.
public struct CommandRunner: Sendable {
    public let engine: Engine

    public init(engine: Engine) {
        self.engine = engine
    }

    /// A line that is not a command.
    public struct ParseFailure: Error, CustomStringConvertible, Sendable {
        public var description: String

        public init(description: String) {
            self.description = description
        }
    }

    /// What became of one command.
    public enum Outcome: Sendable, Equatable {
        case applied
        case duplicate
        case failed(String)
    }

    /// Runs commands in order; consecutive usage records go in one batch (one commit), each
    /// still checked as if alone.
    public func run(_ commands: [Tally_V1_Command]) async -> [Outcome] {
        var outcomes: [Outcome] = []
        var index = 0
        while index < commands.count {
            if case .recordUsage = commands[index].command {
                var end = index
                while end < commands.count, end - index < 1_000, case .recordUsage = commands[end].command { end += 1 }
                outcomes += await recordUsage(
                    commands[index..<end].compactMap {
                        if case .recordUsage(let usage) = $0.command { usage } else { nil }
                    })
                index = end
            } else {
                outcomes.append(await run(commands[index]))
                index += 1
            }
        }
        return outcomes
    }

    private func recordUsage(_ batch: [Tally_V1_RecordUsage]) async -> [Outcome] {
        var records: [UsageRecord?] = []
        var outcomes: [Outcome?] = []
        for usage in batch {
            guard usage.hasOccurredAt else {
                records.append(nil)
                outcomes.append(.failed("record_usage.occurred_at: is required"))
                continue
            }
            records.append(
                UsageRecord(
                    organizationID: usage.organizationID, metric: usage.metric, quantity: usage.quantity,
                    userID: usage.userID,
                    resourceID: usage.resourceID, properties: usage.properties, occurredAt: usage.occurredAt.date,
                    idempotencyKey: usage.idempotencyKey.isEmpty ? nil : usage.idempotencyKey))
            outcomes.append(nil)
        }
        let valid = records.compactMap { $0 }
        let results: [Result<AppendReceipt, EngineError>]
        do { results = try await engine.recordUsage(valid) } catch {
            return outcomes.map { $0 ?? .failed("\(error)") }
        }
        var next = results.makeIterator()
        return outcomes.map { outcome in
            if let outcome { return outcome }
            switch next.next()! {
            case .success(let receipt): return receipt.isDuplicate ? .duplicate : .applied
            case .failure(let error): return .failed("record_usage: \(error)")
            }
        }
    }

    private func run(_ command: Tally_V1_Command) async -> Outcome {
        let at = command.hasAt ? command.at.date : Date()
        do {
            switch command.command {
            case .registerOrganization(let c):
                let currency: Currency
                do { currency = try Currency(c.currency) } catch {
                    return .failed("register_organization.currency: \(error)")
                }
                try await engine.register(
                    OrganizationRegistration(
                        id: c.id, name: c.name, billingEmail: c.billingEmail, country: c.country, taxID: c.taxID,
                        currency: currency,
                        paymentMethod: c.paymentMethod), at: at)
            case .updateOrganization(let c):
                try await engine.updateOrganization(
                    c.id,
                    OrganizationUpdate(
                        name: c.hasName ? c.name : nil, billingEmail: c.hasBillingEmail ? c.billingEmail : nil,
                        country: c.hasCountry ? c.country : nil,
                        taxID: c.hasTaxID ? c.taxID : nil, paymentMethod: c.hasPaymentMethod ? c.paymentMethod : nil),
                    at: at)
            case .definePlan(let c):
                try await engine.definePlan(try c.plan.decoded(), at: at)
            case .subscribe(let c):
                try await engine.subscribe(
                    c.organizationID, to: c.planID, interval: try c.interval.decoded(field: "subscribe.interval"),
                    at: at,
                    idempotencyKey: c.idempotencyKey.isEmpty ? nil : c.idempotencyKey)
            case .changePlan(let c):
                try await engine.changePlan(
                    c.organizationID, to: c.planID, interval: try c.interval.decoded(field: "change_plan.interval"),
                    at: at, immediately: c.immediately,
                    idempotencyKey: c.idempotencyKey.isEmpty ? nil : c.idempotencyKey)
            case .cancelSubscription(let c):
                try await engine.cancelSubscription(c.organizationID, at: at, immediately: c.immediately)
            case .reactivateSubscription(let c):
                try await engine.reactivateSubscription(c.organizationID, at: at)
            case .correctUsage(let c):
                let receipt = try await engine.correctUsage(
                    c.organizationID, originalSequence: c.originalSequence, delta: c.quantityDelta, reason: c.reason,
                    at: at,
                    idempotencyKey: c.idempotencyKey.isEmpty ? nil : c.idempotencyKey)
                if receipt.isDuplicate { return .duplicate }
            case .configureQuota(let c):
                try await engine.configureQuota(
                    c.organizationID, metric: c.metric, softLimit: c.hasSoftLimit ? c.softLimit : nil,
                    hardLimit: c.hasHardLimit ? c.hardLimit : nil, at: at)
            case .removeQuota(let c):
                try await engine.removeQuota(c.organizationID, metric: c.metric, at: at)
            case .advance(let c):
                guard c.hasTo else { return .failed("advance.to: is required") }
                try await engine.advance(to: c.to.date)
            case .initializeDefaultPlans(let c):
                let currency: Currency
                do { currency = try Currency(c.currency.isEmpty ? "USD" : c.currency) } catch {
                    return .failed("initialize_default_plans.currency: \(error)")
                }
                if try await engine.initializeDefaultPlans(currency: currency, at: at).isEmpty { return .duplicate }
            case .applyDiscount(let c):
                let payload = Tally_V1_DiscountApplied.with {
                    $0.discountID = c.discountID
                    $0.percentOff = c.percentOff
                    if c.hasAmountOff { $0.amountOff = c.amountOff }
                    $0.periods = c.periods
                }
                let discount: RecurringDiscount
                do { discount = try payload.decoded() } catch { return .failed("apply_discount: \(error)") }
                try await engine.applyDiscount(c.organizationID, discount, at: at)
            case .recordUsage(let usage):
                return await recordUsage([usage]).first ?? .failed("record_usage: empty")
            case nil:
                return .failed(
                    "no command: expected one of registerOrganization, updateOrganization, definePlan, subscribe, changePlan, cancelSubscription, reactivateSubscription, recordUsage, correctUsage, configureQuota, removeQuota, advance, initializeDefaultPlans, applyDiscount"
                )
            }
            return .applied
        } catch {
            return .failed("\(error)")
        }
    }
}
