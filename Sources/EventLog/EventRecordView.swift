import TallySupport

/// An event read in place from its stored record: the fields a rebuild's fold reads for the
/// events that fill most logs, without building the strings and data of a `StoredEvent` (two
/// allocations and their frees per event, a fifth of a rebuild).
///
/// Valid only while the record's bytes are (inside the cursor step that read them). It takes
/// only what `StoredEvent(record:)` decodes the same way on its fast path: any envelope that
/// path would not take (a repeated or unknown field, a malformed string or timestamp) makes no
/// view, and the caller folds a `StoredEvent` instead, which also reports the error.
/// Verification reads the sequence and the previous hash through it too.
public struct EventRecordView {
    public let sequence: UInt64
    public let organizationID: UnsafeRawBufferPointer
    public let eventType: UnsafeRawBufferPointer
    public let occurredAtSeconds: Int64
    public let occurredAtNanos: Int32
    public let payload: UnsafeRawBufferPointer
    public let previousHash: UnsafeRawBufferPointer

    /// Nanoseconds since 1970 of `occurredAt`, as `QuotasProjector.nanoseconds` computes them.
    public var occurredAtNanoseconds: Int64 { occurredAtSeconds &* 1_000_000_000 &+ Int64(occurredAtNanos) }

    /// The event stored as `record` (its hash, then its envelope).
    public init?(record: UnsafeRawBufferPointer) {
        guard record.count > EnvelopeCoding.hashLength else { return nil }
        self.init(envelope: UnsafeRawBufferPointer(rebasing: record[EnvelopeCoding.hashLength...]))
    }

    /// The sequence and event type of the event stored as `record`, read from the envelope's
    /// first fields only, as Tally writes them (fields 1 to 5 in order): enough to route an
    /// event, for a fraction of a full parse. Nil for any other layout, which the full parse
    /// (`init(record:)`) then reads or refuses; it also checks everything this skips. For
    /// records the log itself just wrote (an observer's `apply(record:in:)`).
    public static func routing(record: UnsafeRawBufferPointer) -> (sequence: UInt64, eventType: UnsafeRawBufferPointer)?
    {
        guard record.count > EnvelopeCoding.hashLength else { return nil }
        var reader = ProtobufWireReader(UnsafeRawBufferPointer(rebasing: record[EnvelopeCoding.hashLength...]))
        guard reader.varint() == 1 << 3, let sequence = reader.varint() else { return nil }
        for field in UInt64(2)...4 {
            guard reader.varint() == field << 3 | 2, reader.lengthDelimited() != nil else { return nil }
        }
        guard reader.varint() == 5 << 3 | 2, let eventType = reader.lengthDelimited() else { return nil }
        return (sequence, eventType)
    }

    /// The organization of the event stored as `record`, read from the envelope's first four
    /// fields only, as Tally writes them (nil for any other layout): to pass over other
    /// organizations' events without a full parse, which reads and checks everything.
    public static func organizationID(record: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
        guard record.count > EnvelopeCoding.hashLength else { return nil }
        var reader = ProtobufWireReader(UnsafeRawBufferPointer(rebasing: record[EnvelopeCoding.hashLength...]))
        guard reader.varint() == 1 << 3, reader.varint() != nil else { return nil }
        for field in UInt64(2)...3 {
            guard reader.varint() == field << 3 | 2, reader.lengthDelimited() != nil else { return nil }
        }
        guard reader.varint() == 4 << 3 | 2 else { return nil }
        return reader.lengthDelimited()
    }

    init?(envelope: UnsafeRawBufferPointer) {
        var reader = ProtobufWireReader(envelope)
        var seen: UInt16 = 0
        var sequence: UInt64 = 0
        var organizationID = UnsafeRawBufferPointer(start: nil, count: 0)
        var eventType = organizationID
        var payload = organizationID
        var previousHash = organizationID
        var occurredAt = (seconds: Int64(0), nanos: Int32(0))
        // Where the text fields lie, from the first one's start to the last one's end: if every
        // byte there is ASCII, so is each of them, checked in one pass (one per field was a
        // sixteenth of a rebuild's batch thread). Tags and short lengths are ASCII bytes too.
        var textStart = Int.max
        var textEnd = 0
        while !reader.isAtEnd {
            guard let tag = reader.varint(), tag >> 3 >= 1, tag >> 3 <= 12 else { return nil }
            let field = Int(tag >> 3)
            guard seen & (1 << field) == 0 else { return nil }
            seen |= 1 << field
            if field == 1 || field == 6 {
                guard tag & 7 == 0, let value = reader.varint() else { return nil }
                if field == 1 { sequence = value }
                continue
            }
            guard tag & 7 == 2, let slice = reader.lengthDelimited() else { return nil }
            switch field {
            case 2, 3:
                guard let timestamp = ProtobufWireReader.timestampParts(slice) else { return nil }
                if field == 2 { occurredAt = timestamp }
            case 11: payload = slice
            case 12: previousHash = slice
            default:
                textStart = min(textStart, reader.position - slice.count)
                textEnd = max(textEnd, reader.position)
                if field == 4 { organizationID = slice } else if field == 5 { eventType = slice }
            }
        }
        if textStart < textEnd,
            !ProtobufWireReader.isASCII(UnsafeRawBufferPointer(rebasing: envelope[textStart..<textEnd]))
        {
            guard Self.textIsValidUTF8(envelope) else { return nil }
        }
        self.sequence = sequence
        self.organizationID = organizationID
        self.eventType = eventType
        (occurredAtSeconds, occurredAtNanos) = occurredAt
        self.payload = payload
        self.previousHash = previousHash
    }

    /// Whether every text field of `envelope`, which `init(envelope:)` found well formed, is
    /// valid UTF-8: the slow path, for text that is not all ASCII (or lies around long fields).
    private static func textIsValidUTF8(_ envelope: UnsafeRawBufferPointer) -> Bool {
        var reader = ProtobufWireReader(envelope)
        while !reader.isAtEnd {
            guard let tag = reader.varint() else { return false }
            let field = tag >> 3
            if field == 1 || field == 6 {
                guard reader.varint() != nil else { return false }
                continue
            }
            guard let slice = reader.lengthDelimited() else { return false }
            if field >= 4 && field <= 10 && field != 6 && !ProtobufWireReader.isValidUTF8(slice) { return false }
        }
        return true
    }
}
