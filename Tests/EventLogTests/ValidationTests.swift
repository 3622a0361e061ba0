import EventLog
import Foundation
import Testing

@Suite("Validation: a rejected event names its field and rule and changes nothing")
struct ValidationTests {
    /// Appends `draft` to a log holding one event, expects a rejection naming `field`,
    /// and checks the log is byte-for-byte what it was.
    func expectRejected(_ draft: EventDraft, field: String, ruleContains fragment: String) throws {
        let directory = TemporaryDirectory()
        let log = try TestLogs.open(directory.path)
        _ = try log.appendSynchronously(TestLogs.usage(key: "existing"))
        let before = try log.events(from: 1, limit: 10)

        let error = #expect(throws: EventLogError.self) { try log.appendSynchronously(draft) }
        guard case .invalidEvent(let validation) = error else {
            Issue.record("expected invalidEvent, got \(String(describing: error))")
            return
        }
        #expect(validation.field == field)
        #expect(validation.rule.contains(fragment), "rule was: \(validation.rule)")
        #expect(try log.events(from: 1, limit: 10) == before)
        #expect(try log.head()?.sequence == 1)
    }

    @Test func organizationIDIsRequired() throws {
        try expectRejected(TestLogs.usage(organization: ""), field: "organization_id", ruleContains: "required")
    }

    @Test(arguments: ["org acme", "-org", "org\u{0}x", String(repeating: "a", count: 65), "orgé", "org/1"])
    func organizationIDMustBeWellFormed(_ id: String) throws {
        try expectRejected(
            TestLogs.usage(organization: id), field: "organization_id", ruleContains: "1 to 64 characters")
    }

    @Test func eventTypeMustBeRegistered() throws {
        var draft = TestLogs.usage()
        draft.eventType = "invoice.issued"
        try expectRejected(draft, field: "event_type", ruleContains: "not a registered event type")
    }

    @Test func eventTypeIsRequired() throws {
        var draft = TestLogs.usage()
        draft.eventType = ""
        try expectRejected(draft, field: "event_type", ruleContains: "required")
    }

    @Test(arguments: [UInt32(0), 2])
    func schemaVersionMustBeKnown(_ version: UInt32) throws {
        var draft = TestLogs.usage()
        draft.schemaVersion = version
        try expectRejected(draft, field: "schema_version", ruleContains: "from 1 to 1")
    }

    @Test func occurredAtMustNotBeAncient() throws {
        try expectRejected(
            TestLogs.usage(at: Date(timeIntervalSince1970: 0)), field: "occurred_at", ruleContains: "before")
    }

    @Test func occurredAtMustNotBeFarInTheFuture() throws {
        try expectRejected(
            TestLogs.usage(at: Date().addingTimeInterval(3 * 86_400)), field: "occurred_at",
            ruleContains: "after the log's clock")
    }

    @Test func payloadMustNotBeEmpty() throws {
        var draft = TestLogs.usage()
        draft.payload = Data()
        try expectRejected(draft, field: "payload", ruleContains: "empty")
    }

    @Test func payloadMustNotBeHuge() throws {
        var draft = TestLogs.usage()
        draft.payload = Data(count: (1 << 20) + 1)
        try expectRejected(draft, field: "payload", ruleContains: "at most")
    }

    @Test func idempotencyKeyMustNotBeEmpty() throws {
        try expectRejected(TestLogs.usage(key: ""), field: "idempotency_key", ruleContains: "not be empty")
    }

    @Test func idempotencyKeyMustBeShort() throws {
        try expectRejected(
            TestLogs.usage(key: String(repeating: "k", count: 256)), field: "idempotency_key", ruleContains: "255 bytes"
        )
    }

    @Test func idempotencyKeyMustHaveNoControlCharacters() throws {
        try expectRejected(TestLogs.usage(key: "a\nb"), field: "idempotency_key", ruleContains: "control")
    }

    @Test func actorAndCorrelationMustBeText() throws {
        var draft = TestLogs.usage()
        draft.actor = "bell\u{7}"
        try expectRejected(draft, field: "actor", ruleContains: "control")
        draft = TestLogs.usage()
        draft.correlationID = String(repeating: "c", count: 300)
        try expectRejected(draft, field: "correlation_id", ruleContains: "255 bytes")
        draft = TestLogs.usage()
        draft.causationID = "x\u{1b}"
        try expectRejected(draft, field: "causation_id", ruleContains: "control")
    }

    @Test("a bad event in a batch is reported with its position, and no event of the batch is appended")
    func badEventInBatch() throws {
        let directory = TemporaryDirectory()
        let log = try TestLogs.open(directory.path)
        let batch = [
            TestLogs.usage(key: "a"), TestLogs.usage(key: "b"), TestLogs.usage(organization: "bad org", key: "c"),
        ]
        let error = #expect(throws: EventLogError.self) { try log.appendSynchronously(contentsOf: batch) }
        #expect(
            error
                == .invalidEvent(
                    EventValidationError(
                        field: "organization_id",
                        rule:
                            "must be 1 to 64 characters of A-Z a-z 0-9 _ . : - starting with a letter or digit, got \"bad org\"",
                        index: 2)))
        #expect(error?.description.hasPrefix("event 2 of the batch: organization_id:") == true)
        #expect(try log.head() == nil)
    }

    @Test("async appends are validated the same way, before they join a group commit")
    func asyncValidation() async throws {
        let directory = TemporaryDirectory()
        let log = try TestLogs.open(directory.path)
        await #expect(throws: EventLogError.self) { try await log.append(TestLogs.usage(organization: "")) }
        #expect(try log.head() == nil)
    }
}
