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
        let texts = [
            envelope.organizationID, envelope.eventType, envelope.idempotencyKey, envelope.actor,
            envelope.correlationID, envelope.causationID,
            usage.metric, usage.userID, usage.resourceID, usage.uniqueProperty,
        ]
        // Every text must pass unescaped; the line's length is then bounded in advance.
        var textBytes = 0
        for text in texts {
            guard text.utf8.allSatisfy({ $0 >= 0x20 && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }) else {
                return false
            }
            textBytes += text.utf8.count
        }
        let bound = 640 + textBytes + envelope.previousHash.count * 2
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: bound) { buffer in
            var line = LineBuilder(buffer.baseAddress!)
            guard line.write(event, envelope, usage) else { return false }
            out.append(contentsOf: UnsafeBufferPointer(start: buffer.baseAddress!, count: line.count))
            return true
        }
    }

    /// A timestamp as the proto3 JSON mapping writes it (without quotes), or nil where the
    /// fast path leaves it to SwiftProtobuf.
    static func rfc3339(_ timestamp: Google_Protobuf_Timestamp) -> [UInt8]? {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 40) { buffer in
            var line = LineBuilder(buffer.baseAddress!)
            guard line.timestamp(timestamp) else { return nil }
            return Array(UnsafeBufferPointer(start: buffer.baseAddress!, count: line.count))
        }
    }
}

/// Bytes written through a pointer into space known to be large enough.
private struct LineBuilder {
    let base: UnsafeMutablePointer<UInt8>
    private(set) var count = 0
    private var first = true

    init(_ base: UnsafeMutablePointer<UInt8>) {
        self.base = base
    }

    static let hexDigits = Array("0123456789abcdef".utf8)
    static let base64Digits = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    static let aggregationNames: [Tally_V1_Aggregation: StaticString] = [
        .sum: "AGGREGATION_SUM", .count: "AGGREGATION_COUNT", .max: "AGGREGATION_MAX",
        .uniqueCount: "AGGREGATION_UNIQUE_COUNT", .latest: "AGGREGATION_LATEST",
    ]

    mutating func write(_ event: StoredEvent, _ envelope: Tally_V1_Envelope, _ usage: Tally_V1_UsageRecorded) -> Bool {
        byte(UInt8(ascii: "{"))
        if envelope.sequence != 0 { quotedNumber("sequence", envelope.sequence) }
        if envelope.hasOccurredAt, !quotedTimestamp("occurredAt", envelope.occurredAt) { return false }
        if envelope.hasRecordedAt, !quotedTimestamp("recordedAt", envelope.recordedAt) { return false }
        string("organizationId", envelope.organizationID)
        string("eventType", envelope.eventType)
        if envelope.schemaVersion != 0 {
            key("schemaVersion")
            decimal(UInt64(envelope.schemaVersion))
        }
        string("idempotencyKey", envelope.idempotencyKey)
        string("actor", envelope.actor)
        string("correlationId", envelope.correlationID)
        string("causationId", envelope.causationID)
        if !envelope.previousHash.isEmpty {
            key("previousHash")
            byte(UInt8(ascii: "\""))
            envelope.previousHash.withUnsafeBytes { base64($0) }
            byte(UInt8(ascii: "\""))
        }
        key("payload")
        byte(UInt8(ascii: "{"))
        first = true
        string("metric", usage.metric)
        if usage.quantity != 0 {
            key("quantity")
            byte(UInt8(ascii: "\""))
            if usage.quantity < 0 { byte(UInt8(ascii: "-")) }
            decimal(usage.quantity.magnitude)
            byte(UInt8(ascii: "\""))
        }
        string("userId", usage.userID)
        string("resourceId", usage.resourceID)
        if usage.hasPeriodStart, !quotedTimestamp("periodStart", usage.periodStart) { return false }
        if usage.aggregation != .unspecified {
            guard let name = Self.aggregationNames[usage.aggregation] else { return false }
            key("aggregation")
            byte(UInt8(ascii: "\""))
            raw(name)
            byte(UInt8(ascii: "\""))
        }
        string("uniqueProperty", usage.uniqueProperty)
        byte(UInt8(ascii: "}"))
        first = false
        key("hash")
        byte(UInt8(ascii: "\""))
        event.hash.withUnsafeBytes { bytes in
            for value in bytes {
                byte(Self.hexDigits[Int(value >> 4)])
                byte(Self.hexDigits[Int(value & 0x0F)])
            }
        }
        byte(UInt8(ascii: "\""))
        byte(UInt8(ascii: "}"))
        return true
    }

    // MARK: Pieces

    mutating func byte(_ value: UInt8) {
        base[count] = value
        count += 1
    }

    mutating func raw(_ text: StaticString) {
        text.withUTF8Buffer { bytes in
            (base + count).update(from: bytes.baseAddress!, count: bytes.count)
            count += bytes.count
        }
    }

    mutating func key(_ name: StaticString) {
        if !first { byte(UInt8(ascii: ",")) }
        first = false
        byte(UInt8(ascii: "\""))
        raw(name)
        byte(UInt8(ascii: "\""))
        byte(UInt8(ascii: ":"))
    }

    /// A text field, left out when empty (the mapping's rule for defaults). The caller checked
    /// that it needs no escaping.
    mutating func string(_ name: StaticString, _ value: String) {
        guard !value.isEmpty else { return }
        key(name)
        byte(UInt8(ascii: "\""))
        for unit in value.utf8 { byte(unit) }
        byte(UInt8(ascii: "\""))
    }

    mutating func quotedNumber(_ name: StaticString, _ value: UInt64) {
        key(name)
        byte(UInt8(ascii: "\""))
        decimal(value)
        byte(UInt8(ascii: "\""))
    }

    mutating func decimal(_ value: UInt64) {
        var digits:
            (
                UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                UInt8, UInt8, UInt8, UInt8, UInt8
            ) =
                (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var length = 0
        var rest = value
        withUnsafeMutableBytes(of: &digits) { scratch in
            repeat {
                scratch[19 - length] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
                length += 1
            } while rest > 0
            for index in (20 - length)..<20 { byte(scratch[index]) }
        }
    }

    mutating func quotedTimestamp(_ name: StaticString, _ value: Google_Protobuf_Timestamp) -> Bool {
        key(name)
        byte(UInt8(ascii: "\""))
        guard timestamp(value) else { return false }
        byte(UInt8(ascii: "\""))
        return true
    }

    /// UTC, with 0, 3, 6 or 9 fractional digits as the nanoseconds need, as the proto3 JSON
    /// mapping writes it. False outside years 1970 to 9999 (left to SwiftProtobuf).
    mutating func timestamp(_ value: Google_Protobuf_Timestamp) -> Bool {
        let seconds = value.seconds
        let nanos = Int(value.nanos)
        guard seconds >= 0, seconds < 253_402_300_800, (0..<1_000_000_000).contains(nanos) else { return false }
        let days = Int(seconds / 86_400)
        let secondOfDay = Int(seconds % 86_400)
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
        padded(year, 4)
        byte(UInt8(ascii: "-"))
        padded(month, 2)
        byte(UInt8(ascii: "-"))
        padded(day, 2)
        byte(UInt8(ascii: "T"))
        padded(secondOfDay / 3_600, 2)
        byte(UInt8(ascii: ":"))
        padded(secondOfDay / 60 % 60, 2)
        byte(UInt8(ascii: ":"))
        padded(secondOfDay % 60, 2)
        if nanos != 0 {
            byte(UInt8(ascii: "."))
            if nanos % 1_000_000 == 0 {
                padded(nanos / 1_000_000, 3)
            } else if nanos % 1_000 == 0 {
                padded(nanos / 1_000, 6)
            } else {
                padded(nanos, 9)
            }
        }
        byte(UInt8(ascii: "Z"))
        return true
    }

    /// `value` in exactly `width` decimal digits.
    mutating func padded(_ value: Int, _ width: Int) {
        var divisor = 1
        for _ in 1..<width { divisor *= 10 }
        var rest = value
        while divisor > 0 {
            byte(UInt8(ascii: "0") + UInt8(rest / divisor))
            rest %= divisor
            divisor /= 10
        }
    }

    /// Standard base64 with padding, as the mapping writes bytes.
    mutating func base64(_ bytes: UnsafeRawBufferPointer) {
        var index = 0
        while index + 3 <= bytes.count {
            let chunk = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2])
            byte(Self.base64Digits[Int(chunk >> 18 & 63)])
            byte(Self.base64Digits[Int(chunk >> 12 & 63)])
            byte(Self.base64Digits[Int(chunk >> 6 & 63)])
            byte(Self.base64Digits[Int(chunk & 63)])
            index += 3
        }
        let rest = bytes.count - index
        if rest > 0 {
            let chunk = UInt32(bytes[index]) << 16 | (rest == 2 ? UInt32(bytes[index + 1]) << 8 : 0)
            byte(Self.base64Digits[Int(chunk >> 18 & 63)])
            byte(Self.base64Digits[Int(chunk >> 12 & 63)])
            byte(rest == 2 ? Self.base64Digits[Int(chunk >> 6 & 63)] : UInt8(ascii: "="))
            byte(UInt8(ascii: "="))
        }
    }
}
