import Billing
public import Foundation
import LMDB
public import Tally

/// An engine with a realistic tenant base, and usage as services send it, for the engine's
/// benchmarks and profiling workloads.
public enum EngineFixtures {
    public static let organizations = 500
    public static let start = Date(timeIntervalSince1970: 1_764_000_000)  // 2025-11-24T16:00:00Z

    /// A fresh engine: the default plans, and `organizations` tenants on a no-trial copy of
    /// Professional (API calls metered with soft and hard limits; users; storage).
    public static func engine(_ label: String) async throws -> Engine {
        var options = EnvironmentOptions()
        options.mapSize = 1 << 35
        if ProcessInfo.processInfo.environment["TALLY_BENCH_NOSYNC"] != nil { options.durability = .noSync }
        let engine = try Engine(directory: Fixtures.temporaryDirectory(label), environment: options)
        try await engine.initializeDefaultPlans(at: start)
        var plan = try Plan.defaults()[1]
        plan.id = "bench"
        plan.trialDays = 0
        for metric in ["api_calls"] { plan.metrics[metric]?.hardLimit = .max / 2 }
        try await engine.definePlan(plan, at: start)
        for index in 0..<organizations {
            let id = organization(index)
            try await engine.register(
                OrganizationRegistration(
                    id: id, name: "Org \(index)", billingEmail: "ap@\(id).test", country: "US", currency: .usd,
                    paymentMethod: "pm_card_visa"), at: start)
            try await engine.subscribe(id, to: "bench", interval: .monthly, at: start)
        }
        return engine
    }

    public static func organization(_ index: Int) -> String {
        "org_\(index)"
    }

    /// Usage number `number`: API calls spread round-robin over the tenants, each with 25
    /// active users and 100 dashboards (so the per-user and per-resource rollups see realistic
    /// reuse), a millisecond apart, with an ascending idempotency key: zero-padded hex, as the
    /// bare log's baseline has (`Fixtures.usage`). Until 2026-11-30 it was unpadded, which does
    /// not sort in number order ("f" after "10"), so each commit inserted its keys all over
    /// each tenant's range and dirtied about twice the index pages the baseline's did.
    public static func usage(_ number: Int) -> UsageRecord {
        let round = number / organizations
        return UsageRecord(
            organizationID: organization(number % organizations), metric: "api_calls",
            quantity: Int64(1 + number % 100),
            userID: "usr_\(round % 25)", resourceID: "dash_\(round % 100)",
            occurredAt: start.addingTimeInterval(60 + Double(number) / 1_000),
            idempotencyKey: "evt_\(String(number, radix: 16).leftPadded(to: 16))")
    }
}
