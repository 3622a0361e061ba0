import EventLog
public import Foundation
import SwiftProtobuf

/// Decodes `usage.recorded` payloads as the engine writes them (each field at most once, no
/// properties map, no unknown fields, valid UTF-8) without the generic decoder's per-field
/// dispatch: usage is most of any log, and every usage projection decodes it. Anything else
/// returns nil and the caller decodes with SwiftProtobuf. `UsageRecordedDecodingTests`
/// checks that both agree on random and malformed inputs.
enum UsageRecordedFastDecoder {
    /// The message `UsageRecordedView` reads, materialized: the view takes exactly the payloads
    /// this path takes, so a rebuild folding the view and an append decoding the message
    /// cannot disagree on which events they accept.
    static func decode(_ bytes: UnsafeRawBufferPointer) -> Tally_V1_UsageRecorded? {
        guard let view = UsageRecordedView(payload: bytes) else { return nil }
        var usage = Tally_V1_UsageRecorded()
        // The view checked that each text is valid UTF-8.
        usage.metric = String(decoding: view.metric, as: UTF8.self)
        usage.userID = String(decoding: view.userID, as: UTF8.self)
        usage.resourceID = String(decoding: view.resourceID, as: UTF8.self)
        usage.uniqueProperty = String(decoding: view.uniqueProperty, as: UTF8.self)
        usage.quantity = view.quantity
        if let periodStart = view.periodStart { usage.periodStart = periodStart }
        usage.aggregation = view.aggregation
        return usage
    }
}

extension Tally_V1_UsageRecorded {
    /// Decodes a stored `usage.recorded` payload: the fast path for the engine's own
    /// encoding, SwiftProtobuf for anything else (it then also throws for malformed input).
    public init(payload: Data) throws {
        if let fast = payload.withUnsafeBytes({ UsageRecordedFastDecoder.decode($0) }) {
            self = fast
        } else {
            try self.init(serializedBytes: payload)
        }
    }
}
