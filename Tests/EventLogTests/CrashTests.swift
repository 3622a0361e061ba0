import EventLog
import Foundation
import Testing

/// Kills a real appending process with SIGKILL at random moments, then checks that every
/// acknowledged event survived whole and that nothing half-written is left.
///
/// TALLY_TEST_ITERATIONS sets the number of kills (default 20); TALLY_TEST_SEED replays a run.
@Suite("Crash safety", .serialized)
struct CrashTests {
    @Test("SIGKILL during appends loses no acknowledged event and leaves nothing half present")
    func killDuringAppends() throws {
        let seed = TestEnvironment.seed()
        let kills = TestEnvironment.iterations(default: 20)
        var random = SeededGenerator(seed: seed)
        let directory = TemporaryDirectory()
        var acknowledged: [UInt64: String] = [:]

        for round in 0..<kills {
            let organization = "crash-\(round)"
            let batch = Int.random(in: 1...16, using: &random)
            let child = try ChildProcess(Probe.executable, ["append-loop", directory.path, organization, "\(batch)"])
            let started = child.waitForLines(1)
            #expect(started, "round \(round), seed \(seed): the probe acknowledged nothing")
            Thread.sleep(forTimeInterval: Double.random(in: 0.0...0.08, using: &random))
            child.kill()
            child.wait()
            for line in child.lines {
                let parts = line.split(separator: " ")
                guard parts.count == 3, parts[0] == "ack", let sequence = UInt64(parts[1]) else {
                    Issue.record("round \(round), seed \(seed): malformed line \(line)")
                    continue
                }
                #expect(acknowledged[sequence] == nil, "sequence \(sequence) acknowledged twice (seed \(seed))")
                acknowledged[sequence] = String(parts[2])
            }
            try checkLog(at: directory.path, acknowledged: acknowledged, context: "round \(round), seed \(seed)")
        }
        #expect(acknowledged.count >= kills, "seed \(seed)")
    }

    /// Everything acknowledged is present and intact; everything present is whole, indexed
    /// and deduplicated (so it was committed with its index entries, not half of it).
    func checkLog(at path: String, acknowledged: [UInt64: String], context: String) throws {
        let log = try TestLogs.open(path)
        let report = try log.verify()
        #expect(report.isIntact, "\(context): \(String(describing: report.failure))")
        let events = try log.events(from: 1, limit: .max)
        let bySequence = Dictionary(uniqueKeysWithValues: events.map { ($0.sequence, $0) })
        for (sequence, key) in acknowledged {
            guard let event = bySequence[sequence] else {
                Issue.record("\(context): acknowledged event \(sequence) (\(key)) is missing")
                continue
            }
            #expect(event.idempotencyKey == key, "\(context): event \(sequence)")
        }
        var perOrganization: [String: Int] = [:]
        for event in events {
            let key = try #require(event.idempotencyKey, "\(context): event \(event.sequence) has no key")
            #expect(event.payload == Probe.payload(for: key), "\(context): event \(event.sequence) payload")
            perOrganization[event.organizationID, default: 0] += 1
        }
        for (organization, count) in perOrganization {
            #expect(try log.events(forOrganization: organization).count == count, "\(context): index of \(organization)")
        }
        // The newest events are the ones a kill could have caught half-way: their keys must
        // be in the idempotency index, so a retry is deduplicated to the same sequence.
        for event in events.suffix(20) {
            let key = event.idempotencyKey!
            let retry = EventDraft(
                organizationID: event.organizationID, eventType: "test.usage", occurredAt: Date(),
                idempotencyKey: key, payload: Probe.payload(for: key))
            #expect(try log.appendSynchronously(retry) == AppendReceipt(sequence: event.sequence, isDuplicate: true), "\(context)")
        }
    }
}
