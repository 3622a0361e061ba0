import Billing
import BillingEvents
import EventLog
public import Foundation
import Projections
import ReadModels
import SwiftProtobuf

extension Engine {
    /// Sets an organization's own limits for `metric`, overriding its plan's from now on:
    /// nil leaves that limit off (both nil: unlimited). Takes effect on the next usage check.
    public func configureQuota(
        _ organizationID: String, metric: String, softLimit: Int64?, hardLimit: Int64?, at date: Date
    ) async throws {
        do { _ = try Metric(metric, aggregation: .sum) } catch {
            throw EngineError.invalid(field: "metric", rule: Self.rule(of: error))
        }
        for (field, limit) in [("soft_limit", softLimit), ("hard_limit", hardLimit)] {
            if let limit, limit < 0 {
                throw EngineError.invalid(field: field, rule: "must not be negative, got \(limit)")
            }
        }
        if let softLimit, let hardLimit, softLimit > hardLimit {
            throw EngineError.invalid(
                field: "soft_limit", rule: "must not exceed hard_limit (\(softLimit) > \(hardLimit))")
        }
        var payload = Tally_V1_QuotaConfigured()
        payload.metric = metric
        if let softLimit { payload.softLimit = softLimit }
        if let hardLimit { payload.hardLimit = hardLimit }
        let bytes = try payload.deterministicData()
        let projections = projections
        _ = try await log.append { decision in
            let catalog = try projections.reader(CatalogProjector.name, in: decision.transaction)
            guard try CatalogProjector.organization(organizationID, in: catalog) != nil else {
                throw EngineError.notFound("organization \(organizationID)")
            }
            return [
                EventDraft(
                    organizationID: organizationID, eventType: BillingEventType.quotaConfigured.rawValue,
                    occurredAt: date, payload: bytes)
            ]
        }
    }

    /// Drops the organization's own limits for `metric`: its plan's apply again.
    public func removeQuota(_ organizationID: String, metric: String, at date: Date) async throws {
        let bytes = try Tally_V1_QuotaRemoved.with { $0.metric = metric }.deterministicData()
        let projections = projections
        _ = try await log.append { decision in
            let quotas = try projections.reader(QuotasProjector.name, in: decision.transaction)
            guard try QuotasProjector.configuredLimits(organizationID, metric, in: quotas) != nil else {
                throw EngineError.notFound("a quota configured for \(organizationID) on \(metric)")
            }
            return [
                EventDraft(
                    organizationID: organizationID, eventType: BillingEventType.quotaRemoved.rawValue, occurredAt: date,
                    payload: bytes)
            ]
        }
    }
}
