import BillingEvents
import EventLog
import Foundation
import SwiftProtobuf

/// Writes the export line of the commonest events (usage, with plain text fields) straight
/// into bytes, exactly as `ExportLine.encodeGenerically` would through SwiftProtobuf's JSON
/// encoder, several times faster. Anything it does not handle returns false and goes the
/// generic way. `ExportLineTests` checks both agree, byte for byte.
enum FastExportWriter {
    /// Appends the line to `out`; on false `out` is as it was.
    static func append(_ event: StoredEvent, to out: inout [UInt8]) -> Bool {
        let envelope = event.envelope
        guard envelope.eventType == BillingEventType.usageRecorded.rawValue,
            let usage = try? Tally_V1_UsageRecorded(payload: envelope.payload), usage.properties.isEmpty
        else { return false }
        let start = out.count
        guard write(event, envelope, usage, to: &out) else {
            out.removeSubrange(start...)
            return false
        }
        return true
    }

    private static func write(_ event: StoredEvent, _ envelope: Tally_V1_Envelope, _ usage: Tally_V1_UsageRecorded, to out: inout [UInt8]) -> Bool {
        out.append(UInt8(ascii: "{"))
        var first = true
        func key(_ name: StaticString) {
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            out.append(UInt8(ascii: "\""))
            name.withUTF8Buffer { out.append(contentsOf: $0) }
            out.append(contentsOf: [UInt8(ascii: "\""), UInt8(ascii: ":")])
        }
        func string(_ name: StaticString, _ value: String) -> Bool {
            guard !value.isEmpty else { return true }
            guard value.utf8.allSatisfy({ $0 >= 0x20 && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }) else { return false }
            key(name)
            out.append(UInt8(ascii: "\""))
            out.append(contentsOf: value.utf8)
            out.append(UInt8(ascii: "\""))
            return true
        }
        func quotedNumber(_ name: StaticString, _ value: some BinaryInteger) {
            key(name)
            out.append(UInt8(ascii: "\""))
            out.append(contentsOf: String(value).utf8)
            out.append(UInt8(ascii: "\""))
        }
        func timestamp(_ name: StaticString, _ value: Google_Protobuf_Timestamp) -> Bool {
            guard let text = rfc3339(value) else { return false }
            key(name)
            out.append(UInt8(ascii: "\""))
            out.append(contentsOf: text)
            out.append(UInt8(ascii: "\""))
            return true
        }

        if envelope.sequence != 0 { quotedNumber("sequence", envelope.sequence) }
        if envelope.hasOccurredAt, !timestamp("occurredAt", envelope.occurredAt) { return false }
        if envelope.hasRecordedAt, !timestamp("recordedAt", envelope.recordedAt) { return false }
        guard string("organizationId", envelope.organizationID), string("eventType", envelope.eventType) else { return false }
        if envelope.schemaVersion != 0 {
            key("schemaVersion")
            out.append(contentsOf: String(envelope.schemaVersion).utf8)
        }
        guard string("idempotencyKey", envelope.idempotencyKey), string("actor", envelope.actor), string("correlationId", envelope.correlationID),
            string("causationId", envelope.causationID)
        else { return false }
        if !envelope.previousHash.isEmpty {
            key("previousHash")
            out.append(UInt8(ascii: "\""))
            envelope.previousHash.withUnsafeBytes { appendBase64($0, to: &out) }
            out.append(UInt8(ascii: "\""))
        }
        // The payload, as its own object.
        key("payload")
        out.append(UInt8(ascii: "{"))
        first = true
        guard string("metric", usage.metric) else { return false }
        if usage.quantity != 0 { quotedNumber("quantity", usage.quantity) }
        guard string("userId", usage.userID), string("resourceId", usage.resourceID) else { return false }
        if usage.hasPeriodStart, !timestamp("periodStart", usage.periodStart) { return false }
        if usage.aggregation != .unspecified {
            guard let name = aggregationNames[usage.aggregation] else { return false }
            key("aggregation")
            out.append(UInt8(ascii: "\""))
            out.append(contentsOf: name.utf8)
            out.append(UInt8(ascii: "\""))
        }
        guard string("uniqueProperty", usage.uniqueProperty) else { return false }
        out.append(UInt8(ascii: "}"))
        first = false
        key("hash")
        out.append(UInt8(ascii: "\""))
        event.hash.withUnsafeBytes { bytes in
            for byte in bytes {
                out.append(hexDigits[Int(byte >> 4)])
                out.append(hexDigits[Int(byte & 0x0F)])
            }
        }
        out.append(contentsOf: [UInt8(ascii: "\""), UInt8(ascii: "}")])
        return true
    }

    static let hexDigits = Array("0123456789abcdef".utf8)
    static let base64Digits = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// Standard base64 with padding, as the proto3 JSON mapping writes bytes.
    static func appendBase64(_ bytes: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        var index = 0
        while index + 3 <= bytes.count {
            let chunk = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2])
            for shift in [18, 12, 6, 0] as [UInt32] { out.append(base64Digits[Int(chunk >> shift & 63)]) }
            index += 3
        }
        let rest = bytes.count - index
        if rest > 0 {
            let chunk = UInt32(bytes[index]) << 16 | (rest == 2 ? UInt32(bytes[index + 1]) << 8 : 0)
            out.append(base64Digits[Int(chunk >> 18 & 63)])
            out.append(base64Digits[Int(chunk >> 12 & 63)])
            out.append(rest == 2 ? base64Digits[Int(chunk >> 6 & 63)] : UInt8(ascii: "="))
            out.append(UInt8(ascii: "="))
        }
    }

    static let aggregationNames: [Tally_V1_Aggregation: String] = [
        .sum: "AGGREGATION_SUM", .count: "AGGREGATION_COUNT", .max: "AGGREGATION_MAX", .uniqueCount: "AGGREGATION_UNIQUE_COUNT", .latest: "AGGREGATION_LATEST",
    ]

    /// A timestamp as the proto3 JSON mapping writes it: UTC, with 0, 3, 6 or 9 fractional
    /// digits as the nanoseconds need. Nil outside years 1970 to 9999 (left to SwiftProtobuf).
    static func rfc3339(_ timestamp: Google_Protobuf_Timestamp) -> [UInt8]? {
        let seconds = timestamp.seconds, nanos = Int(timestamp.nanos)
        guard seconds >= 0, seconds < 253_402_300_800, (0..<1_000_000_000).contains(nanos) else { return nil }
        let days = Int(seconds / 86_400), secondOfDay = Int(seconds % 86_400)
        // Civil date from days since 1970 (Howard Hinnant's algorithm).
        let z = days + 719_468
        let era = z / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthPrime = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthPrime + 2) / 5 + 1
        let month = monthPrime < 10 ? monthPrime + 3 : monthPrime - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        var text: [UInt8] = []
        text.reserveCapacity(30)
        func digits(_ value: Int, _ count: Int) {
            var divisor = 1
            for _ in 1..<count { divisor *= 10 }
            var rest = value
            while divisor > 0 {
                text.append(UInt8(ascii: "0") + UInt8(rest / divisor))
                rest %= divisor
                divisor /= 10
            }
        }
        digits(year, 4); text.append(UInt8(ascii: "-")); digits(month, 2); text.append(UInt8(ascii: "-")); digits(day, 2)
        text.append(UInt8(ascii: "T"))
        digits(secondOfDay / 3_600, 2); text.append(UInt8(ascii: ":")); digits(secondOfDay / 60 % 60, 2); text.append(UInt8(ascii: ":"))
        digits(secondOfDay % 60, 2)
        if nanos != 0 {
            text.append(UInt8(ascii: "."))
            if nanos % 1_000_000 == 0 { digits(nanos / 1_000_000, 3) } else if nanos % 1_000 == 0 { digits(nanos / 1_000, 6) } else { digits(nanos, 9) }
        }
        text.append(UInt8(ascii: "Z"))
        return text
    }
}
