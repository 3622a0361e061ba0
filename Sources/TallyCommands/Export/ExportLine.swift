import BillingEvents
public import EventLog
public import Foundation
public import SwiftProtobuf

/// One event as a line of a JSONL export, and back: the envelope in the proto3 JSON mapping,
/// its payload decoded (as JSON, not base64), and its hash in hex. docs/CLI.md ("tally export") describes it.
public enum ExportLine {
    /// The event types whose payloads hold maps: their stored bytes are only reproducible from
    /// JSON when they were encoded in key order, which is checked per event.
    static let typesWithMaps: Set<String> = [
        BillingEventType.usageRecorded.rawValue, BillingEventType.customPricingAgreed.rawValue,
    ]

    /// Appends the export line of `event` and a newline to `out`: how an export streams.
    public static func append(_ event: StoredEvent, to out: inout [UInt8]) throws {
        if !FastExportWriter.append(event, to: &out) { out.append(contentsOf: try encodeGenerically(event).utf8) }
        out.append(UInt8(ascii: "\n"))
    }

    /// The export line of `event`, without its newline.
    public static func encode(_ event: StoredEvent) throws -> String {
        var bytes: [UInt8] = []
        if FastExportWriter.append(event, to: &bytes) { return String(decoding: bytes, as: UTF8.self) }
        return try encodeGenerically(event)
    }

    /// The same line through SwiftProtobuf's JSON encoder: the reference the fast writer is
    /// tested against, and the path for everything it does not handle.
    public static func encodeGenerically(_ event: StoredEvent) throws -> String {
        var envelope = event.envelope
        let payload = envelope.payload
        envelope.payload = Data()
        var json = try envelope.jsonString()
        json.removeLast()  // the closing brace: the decoded payload and the hash go in
        var payloadJSON = "null"
        var payloadBytes: String?
        if let message = decodedPayload(of: event) {
            payloadJSON = try message.jsonString()
            if typesWithMaps.contains(event.eventType), try message.deterministicData() != payload {
                payloadBytes = payload.base64EncodedString()
            }
        } else {
            payloadBytes = payload.base64EncodedString()  // a type this build does not know: kept exactly
        }
        json += (json.count > 1 ? "," : "") + "\"payload\":\(payloadJSON)"
        if let payloadBytes { json += ",\"payloadBytes\":\"\(payloadBytes)\"" }
        json += ",\"hash\":\"\(event.hash.hex)\"}"
        return json
    }

    /// The event's payload as its message, or nil for a type this build does not know (or
    /// bytes that do not decode as it).
    public static func decodedPayload(of event: StoredEvent) -> (any SwiftProtobuf.Message)? {
        guard let type = BillingEventType(rawValue: event.eventType) else { return nil }
        return try? type.payloadType.init(serializedBytes: event.payload)
    }

    /// What a line holds: an event to restore, or the manifest that ends the export.
    public enum Decoded {
        case event(EventLog.RestoredEvent, sequence: UInt64)
        case manifest(ExportManifest)
    }

    public struct Malformed: Error, CustomStringConvertible {
        public var description: String
    }

    /// Decodes a line: the fast way when it is laid out as `tally export` writes it (and the
    /// bytes it yields hash as recorded), else by parsing it as any JSON.
    public static func decode(_ line: Data) throws -> Decoded {
        if let fast = decodeAsWritten(line) { return fast }
        return try decodeGenerically(line)
    }

    /// A line exactly as the exporter lays it out: the envelope's fields, then
    /// `,"payload":…`, maybe `,"payloadBytes":"…"`, and `,"hash":"<64 hex>"}` at the end. The
    /// raw text `,"payload":` cannot occur inside a JSON string (its quotes would be escaped),
    /// so the first one ends the envelope. Two JSON parses instead of four; nil when anything
    /// differs, or when the bytes do not hash as recorded (the generic path then decides).
    static func decodeAsWritten(_ line: Data) -> Decoded? {
        let bytes = Array(line)
        let hashSuffix = Array(",\"hash\":\"".utf8)
        guard bytes.count > 77 + 12, bytes.last == UInt8(ascii: "}"), bytes[bytes.count - 2] == UInt8(ascii: "\""),
            Array(bytes[(bytes.count - 75)..<(bytes.count - 66)]) == hashSuffix,
            let hash = EventHash(hex: String(decoding: bytes[(bytes.count - 66)..<(bytes.count - 2)], as: UTF8.self)),
            let payloadKey = firstRange(of: Array(",\"payload\":".utf8), in: bytes, before: bytes.count - 75)
        else { return nil }
        var envelopeJSON = Array(bytes[..<payloadKey.lowerBound])
        envelopeJSON.append(UInt8(ascii: "}"))
        var payloadJSON = Array(bytes[payloadKey.upperBound..<(bytes.count - 75)])
        var payloadBytes: Data?
        if let bytesKey = firstRange(of: Array(",\"payloadBytes\":\"".utf8), in: payloadJSON, before: payloadJSON.count)
        {
            guard payloadJSON.last == UInt8(ascii: "\""),
                let decoded = Data(base64Encoded: Data(payloadJSON[bytesKey.upperBound..<(payloadJSON.count - 1)]))
            else { return nil }
            payloadBytes = decoded
            payloadJSON = Array(payloadJSON[..<bytesKey.lowerBound])
        }
        guard var envelope = try? Tally_V1_Envelope(jsonUTF8Data: Data(envelopeJSON)) else { return nil }
        if let payloadBytes {
            envelope.payload = payloadBytes
        } else if payloadJSON != Array("null".utf8) {
            guard let type = BillingEventType(rawValue: envelope.eventType),
                let message = try? type.payloadType.init(jsonUTF8Data: Data(payloadJSON)),
                let data = try? message.deterministicData()
            else { return nil }
            envelope.payload = data
        }
        guard let stored: [UInt8] = try? envelope.serializedBytes(),
            stored.withUnsafeBytes({ EventHash.sha256(of: $0) }) == hash
        else { return nil }
        return .event(EventLog.RestoredEvent(envelope: stored, hash: hash), sequence: envelope.sequence)
    }

    private static func firstRange(of needle: [UInt8], in haystack: [UInt8], before end: Int) -> Range<Int>? {
        guard needle.count <= end else { return nil }
        var index = 0
        while index + needle.count <= end {
            if haystack[index] == needle[0], haystack[index..<(index + needle.count)].elementsEqual(needle) {
                return index..<(index + needle.count)
            }
            index += 1
        }
        return nil
    }

    static func decodeGenerically(_ line: Data) throws -> Decoded {
        guard var object = (try? JSONSerialization.jsonObject(with: line)) as? [String: Any] else {
            throw Malformed(description: "not a JSON object")
        }
        if let manifest = object["manifest"] {
            let data = try JSONSerialization.data(withJSONObject: manifest)
            do { return .manifest(try JSONDecoder().decode(ExportManifest.self, from: data)) } catch {
                throw Malformed(description: "a malformed manifest")
            }
        }
        let payload = object.removeValue(forKey: "payload")
        let payloadBytes = object.removeValue(forKey: "payloadBytes") as? String
        guard let hashText = object.removeValue(forKey: "hash") as? String, let hash = EventHash(hex: hashText) else {
            throw Malformed(description: "no \"hash\" of 64 hex digits")
        }
        var envelope: Tally_V1_Envelope
        do { envelope = try Tally_V1_Envelope(jsonUTF8Data: try JSONSerialization.data(withJSONObject: object)) } catch
        {
            throw Malformed(description: "the envelope is not in the proto3 JSON mapping: \(error)")
        }
        if let payloadBytes {
            guard let bytes = Data(base64Encoded: payloadBytes) else {
                throw Malformed(description: "\"payloadBytes\" is not base64")
            }
            envelope.payload = bytes
        } else if let payload, !(payload is NSNull) {
            guard let type = BillingEventType(rawValue: envelope.eventType) else {
                throw Malformed(description: "unknown event type \(envelope.eventType) without payloadBytes")
            }
            do {
                let message = try type.payloadType.init(
                    jsonUTF8Data: try JSONSerialization.data(withJSONObject: payload, options: [.fragmentsAllowed]))
                envelope.payload = try message.deterministicData()
            } catch {
                throw Malformed(
                    description: "the payload is not a \(envelope.eventType) in the proto3 JSON mapping: \(error)")
            }
        }
        return .event(
            EventLog.RestoredEvent(envelope: try envelope.serializedBytes(), hash: hash), sequence: envelope.sequence)
    }
}

/// The last line of a JSONL export: what it holds, so that nothing can be cut off unnoticed.
public struct ExportManifest: Codable, Equatable, Sendable {
    public var format = "tally-export/1"
    public var count: UInt64
    public var firstSequence: UInt64?
    public var lastSequence: UInt64?
    /// The log's head when the export began; with `complete`, the last event exported.
    public var headSequence: UInt64
    public var headHash: String
    /// Whether every event of the log is in the export (no --organization, --from or --to).
    public var complete: Bool

    public init(
        count: UInt64, firstSequence: UInt64?, lastSequence: UInt64?, headSequence: UInt64, headHash: String,
        complete: Bool
    ) {
        self.count = count
        self.firstSequence = firstSequence
        self.lastSequence = lastSequence
        self.headSequence = headSequence
        self.headHash = headHash
        self.complete = complete
    }

    public var line: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return "{\"manifest\":" + String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self) + "}"
    }
}
