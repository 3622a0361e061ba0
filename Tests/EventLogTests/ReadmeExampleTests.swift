import EventLog
import Foundation
import Testing

@Suite("The README's library example")
struct ReadmeExampleTests {
    @Test("runs as written")
    func example() async throws {
        let directory = TemporaryDirectory()
        let usageBytes = Data("metric=api_calls;quantity=3".utf8)
        // From here on, the README's lines, with "./tally-data" replaced by a temporary directory.
        let log = try EventLog(directory: directory.path, options: EventLogOptions(registry: ["usage.recorded": 1]))
        let usage = EventDraft(
            organizationID: "org_42", eventType: "usage.recorded", occurredAt: .now,
            idempotencyKey: "req_01JDX4T3", payload: usageBytes)
        let receipt = try await log.append(usage)
        let retry = try await log.append(usage)
        #expect(retry == AppendReceipt(sequence: receipt.sequence, isDuplicate: true))
        let mine = try log.events(forOrganization: "org_42")
        let report = try log.verify()
        #expect(mine.map(\.sequence) == [1])
        #expect(report.isIntact && report.head?.sequence == 1)
    }
}
