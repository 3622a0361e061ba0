import Foundation

extension EventDraft {
    /// Validates `drafts` in order, the first being its request's draft `firstIndex` (nil for
    /// a request of one, whose error names no place): the first rule broken fails them all.
    static func validate(_ drafts: [EventDraft], from firstIndex: Int?, against options: EventLogOptions, now: Date)
        throws(EventLogError)
    {
        for (offset, draft) in drafts.enumerated() {
            do {
                try draft.validate(against: options, now: now, index: firstIndex.map { $0 + offset })
            } catch {
                throw .invalidEvent(error)
            }
        }
    }

    /// Throws the first rule this draft breaks: each names the field and the rule.
    func validate(against options: EventLogOptions, now: Date, index: Int?) throws(EventValidationError) {
        func fail(_ field: String, _ rule: String) -> EventValidationError {
            EventValidationError(field: field, rule: rule, index: index)
        }
        guard Self.isWellFormedOrganizationID(organizationID) else {
            throw fail(
                "organization_id",
                organizationID.isEmpty
                    ? "is required"
                    : "must be 1 to 64 characters of A-Z a-z 0-9 _ . : - starting with a letter or digit, got \"\(organizationID.prefix(80))\""
            )
        }
        guard let current = options.registry.currentVersion(of: eventType) else {
            throw fail(
                "event_type",
                eventType.isEmpty ? "is required" : "\"\(eventType.prefix(80))\" is not a registered event type")
        }
        guard (1...current).contains(schemaVersion) else {
            throw fail("schema_version", "must be from 1 to \(current) for \(eventType), got \(schemaVersion)")
        }
        guard occurredAt.timeIntervalSince1970.isFinite, occurredAt >= options.earliestOccurredAt else {
            throw fail(
                "occurred_at", "must not be before \(options.earliestOccurredAt.formatted(.iso8601)), got \(occurredAt)"
            )
        }
        guard occurredAt <= now.addingTimeInterval(options.maximumFutureSkew) else {
            throw fail(
                "occurred_at",
                "must not be more than \(Int(options.maximumFutureSkew)) s after the log's clock (\(now.formatted(.iso8601))), got \(occurredAt.formatted(.iso8601))"
            )
        }
        guard !payload.isEmpty else {
            throw fail("payload", "must not be empty")
        }
        guard payload.count <= options.maximumPayloadBytes else {
            throw fail("payload", "must be at most \(options.maximumPayloadBytes) bytes, got \(payload.count)")
        }
        if let idempotencyKey {
            try Self.checkText(idempotencyKey, field: "idempotency_key", required: true, fail: fail)
        }
        try Self.checkText(actor, field: "actor", required: false, fail: fail)
        try Self.checkText(correlationID, field: "correlation_id", required: false, fail: fail)
        try Self.checkText(causationID, field: "causation_id", required: false, fail: fail)
    }

    /// 1 to 64 bytes of `A-Z a-z 0-9 _ . : -`, starting with a letter or digit. The index keys
    /// rely on it never holding a zero byte.
    static func isWellFormedOrganizationID(_ id: String) -> Bool {
        var count = 0
        for byte in id.utf8 {
            let isAlphanumeric =
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
            let isPunctuation =
                byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: ":")
                || byte == UInt8(ascii: "-")
            guard isAlphanumeric || (count > 0 && isPunctuation) else { return false }
            count += 1
        }
        return (1...64).contains(count)
    }

    /// The most UTF-8 bytes an idempotency key, actor, correlation or causation ID may hold.
    static let maximumTextBytes = 255

    /// At most 255 bytes of UTF-8 with no control characters.
    private static func checkText(
        _ text: String, field: String, required: Bool, fail: (String, String) -> EventValidationError
    ) throws(EventValidationError) {
        if required && text.isEmpty { throw fail(field, "must not be empty when present") }
        guard text.utf8.count <= maximumTextBytes else {
            throw fail(field, "must be at most \(maximumTextBytes) bytes, got \(text.utf8.count)")
        }
        guard !containsControlCharacter(text) else {
            throw fail(field, "must not contain control characters")
        }
    }

    /// True when `text` holds a Unicode control character (Cc). ASCII text, the common case,
    /// is checked byte by byte without Unicode property lookups.
    private static func containsControlCharacter(_ text: String) -> Bool {
        var isASCII = true
        for byte in text.utf8 {
            if byte < 0x20 || byte == 0x7F { return true }
            if byte >= 0x80 { isASCII = false }
        }
        return !isASCII && text.unicodeScalars.contains { $0.properties.generalCategory == .control }
    }
}
