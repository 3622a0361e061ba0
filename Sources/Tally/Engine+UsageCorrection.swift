import Billing
import BillingEvents
public import EventLog
public import Foundation
import Projections
public import ReadModels
import SwiftProtobuf
import Synchronization

extension Engine {
    /// Adjusts earlier usage, never editing it: `delta` is added to the usage.recorded event at
    /// `originalSequence` (negative to reduce it, but never below zero in total). The
    /// adjustment lands in the original's period, day, user and resource. Only summed metrics
    /// can be corrected; for the others record a new value. A retry with the same
    /// `idempotencyKey` appends nothing.
    @discardableResult
    public func correctUsage(
        _ organizationID: String, originalSequence: UInt64, delta: Int64, reason: String, at date: Date,
        idempotencyKey: String? = nil
    ) async throws -> AppendReceipt {
        guard delta != 0 else { throw EngineError.invalid(field: "quantity_delta", rule: "must not be zero") }
        guard (1...500).contains(reason.count) else {
            throw EngineError.invalid(field: "reason", rule: "must be 1 to 500 characters")
        }
        let projections = projections
        let retried = Mutex<UInt64?>(nil)
        let receipts = try await log.append { decision in
            if let key = idempotencyKey,
                let sequence = try decision.sequence(ofIdempotencyKey: key, organizationID: organizationID)
            {
                retried.withLock { $0 = sequence }
                return []
            }
            guard let original = try decision.event(at: originalSequence), original.organizationID == organizationID,
                original.eventType == BillingEventType.usageRecorded.rawValue
            else {
                throw EngineError.notFound("usage.recorded event \(originalSequence) of \(organizationID)")
            }
            let usage = try Tally_V1_UsageRecorded(serializedBytes: original.payload)
            guard usage.aggregation == .sum else {
                throw EngineError.invalid(
                    field: "original_sequence",
                    rule:
                        "\(usage.metric) is not summed; only summed usage can be corrected (record a new value instead)"
                )
            }
            let quotas = try projections.reader(QuotasProjector.name, in: decision.transaction)
            let net = try QuotasProjector.netCorrection(ofUsageAt: originalSequence, in: quotas)
            let corrected = usage.quantity.addingReportingOverflow(net).partialValue.addingReportingOverflow(delta)
            guard !corrected.overflow, corrected.partialValue >= 0 else {
                throw EngineError.invalid(
                    field: "quantity_delta",
                    rule:
                        "would take event \(originalSequence) to \(corrected.overflow ? "an overflow" : String(corrected.partialValue)) (recorded \(usage.quantity), corrected by \(net) so far); it must stay at or above zero"
                )
            }
            let payload = Tally_V1_UsageCorrected.with {
                $0.originalSequence = originalSequence
                $0.metric = usage.metric
                $0.quantityDelta = delta
                $0.reason = reason
                $0.originalOccurredAt = original.envelope.occurredAt
                $0.periodStart = usage.periodStart
                $0.userID = usage.userID
                $0.resourceID = usage.resourceID
            }
            return [
                EventDraft(
                    organizationID: organizationID, eventType: BillingEventType.usageCorrected.rawValue,
                    occurredAt: date,
                    idempotencyKey: idempotencyKey, payload: try payload.deterministicData())
            ]
        }
        if let sequence = retried.withLock({ $0 }) { return AppendReceipt(sequence: sequence, isDuplicate: true) }
        return receipts[0]
    }

    /// Usage of an organization on the UTC days from `from` through `to`, per metric (or only
    /// `metric`), broken down per day, user or resource.
    public func usage(
        of organizationID: String, metric: String? = nil, from: Date, to: Date,
        by breakdown: UsageRollupsProjector.Breakdown = .day
    ) throws -> [UsageRollupsProjector.Row] {
        try live.usage(of: organizationID, metric: metric, from: from, to: to, by: breakdown)
    }
}
