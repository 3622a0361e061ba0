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
        var verifiedHead: Checkpoint?  // the head the previous round verified

        for round in 0..<kills {
            let organization = "crash-\(round)"
            // Every other round or so the batches are streamed appends (killed while a helper
            // thread decides them), large enough to cross several chunks.
            let streamed = Bool.random(using: &random)
            let batch = streamed ? Int.random(in: 1...300, using: &random) : Int.random(in: 1...16, using: &random)
            let child = try ChildProcess(
                Probe.executable,
                ["append-loop", directory.path, organization, "\(batch)"] + (streamed ? ["stream"] : []))
            let started = child.waitForLines(1)
            #expect(started, "round \(round), seed \(seed): the probe acknowledged nothing")
            Thread.sleep(forTimeInterval: Double.random(in: 0.0...0.08, using: &random))
            child.kill()
            child.wait()
            var roundAcknowledged: [UInt64: String] = [:]
            for line in child.lines {
                let parts = line.split(separator: " ")
                guard parts.count == 3, parts[0] == "ack", let sequence = UInt64(parts[1]) else {
                    Issue.record("round \(round), seed \(seed): malformed line \(line)")
                    continue
                }
                #expect(acknowledged[sequence] == nil, "sequence \(sequence) acknowledged twice (seed \(seed))")
                acknowledged[sequence] = String(parts[2])
                roundAcknowledged[sequence] = String(parts[2])
            }
            verifiedHead = try checkRound(
                at: directory.path, after: verifiedHead, acknowledged: roundAcknowledged, organization: organization,
                context: "round \(round), seed \(seed)")
        }
        // Finally, everything acknowledged in every round is still there.
        let log = try TestLogs.open(directory.path)
        for (sequence, key) in acknowledged {
            #expect(try log.event(at: sequence)?.idempotencyKey == key, "seed \(seed): acknowledged event \(sequence)")
        }
        #expect(acknowledged.count >= kills, "seed \(seed)")
    }

    /// Checks what one round added: the chain verifies from the head the previous round
    /// verified (so each round costs what it wrote, not the whole log); every event it
    /// acknowledged is present and intact; every event it left is whole, indexed and
    /// deduplicated (committed with its index entries, not half of it). Returns the new head.
    func checkRound(
        at path: String, after previous: Checkpoint?, acknowledged: [UInt64: String], organization: String,
        context: String
    ) throws -> Checkpoint? {
        let log = try TestLogs.open(path)
        let report = try log.verify(from: previous)
        #expect(report.isIntact, "\(context): \(String(describing: report.failure))")
        let added = try log.events(from: (previous?.sequence ?? 0) + 1, limit: .max)
        let bySequence = Dictionary(uniqueKeysWithValues: added.map { ($0.sequence, $0) })
        for (sequence, key) in acknowledged {
            guard let event = bySequence[sequence] else {
                Issue.record("\(context): acknowledged event \(sequence) (\(key)) is missing")
                continue
            }
            #expect(event.idempotencyKey == key, "\(context): event \(sequence)")
        }
        for event in added {
            let key = try #require(event.idempotencyKey, "\(context): event \(event.sequence) has no key")
            #expect(event.organizationID == organization, "\(context): event \(event.sequence)")
            #expect(event.payload == Probe.payload(for: key), "\(context): event \(event.sequence) payload")
        }
        #expect(
            try log.events(forOrganization: organization).map(\.sequence) == added.map(\.sequence),
            "\(context): organization index")
        // The newest events are the ones a kill could have caught half-way: their keys must
        // be in the idempotency index, so a retry is deduplicated to the same sequence.
        for event in added.suffix(20) {
            let key = event.idempotencyKey!
            let retry = EventDraft(
                organizationID: event.organizationID, eventType: "test.usage", occurredAt: Date(),
                idempotencyKey: key, payload: Probe.payload(for: key))
            #expect(
                try log.appendSynchronously(retry) == AppendReceipt(sequence: event.sequence, isDuplicate: true),
                "\(context)")
        }
        return report.head ?? previous
    }
}
