import Billing
import BillingEvents
import EventLog
public import Foundation
public import ReadModels
import SwiftProtobuf

extension Engine {
    /// A payment failed: the subscription becomes past due. (Issue 5's dunning drives this
    /// from payment attempts; it is public so a service with its own payments can too.)
    @discardableResult
    public func markPastDue(_ organizationID: String, at date: Date) async throws -> SubscriptionRecord {
        try await transition(organizationID, at: date) { record throws(BillingError) in
            var candidate = record.subscription
            try candidate.markPastDue(at: date)
            return (
                .subscriptionPastDue,
                Tally_V1_SubscriptionPastDue.with {
                    $0.subscriptionID = record.id
                    $0.since = Google_Protobuf_Timestamp(date: date)
                }
            )
        }
    }

    /// A past-due subscription gets until `end` to pay; `advance(to:)` cancels it then
    /// (reason nonpayment) unless a payment restores it first.
    @discardableResult
    public func startGracePeriod(_ organizationID: String, until end: Date, at date: Date) async throws
        -> SubscriptionRecord
    {
        try await transition(organizationID, at: date) { record throws(BillingError) in
            var candidate = record.subscription
            try candidate.startGrace(until: end)
            guard end > date else { throw .invalid(field: "until", rule: "must be after \(date.formatted(.iso8601))") }
            return (
                .gracePeriodStarted,
                Tally_V1_GracePeriodStarted.with {
                    $0.subscriptionID = record.id
                    $0.until = Google_Protobuf_Timestamp(date: end)
                }
            )
        }
    }
}
