import EventLog
import Foundation
import Testing

@Suite("Several processes append to one log", .serialized)
struct MultiProcessTests {
    @Test(
        "3 processes × 40 tasks plus 40 tasks here append at once: no gap, no duplicate, chain intact, retries deduplicated"
    )
    func processesAndTasks() async throws {
        let directory = TemporaryDirectory()
        let processes = 3
        let tasksPerProcess = 40
        let eventsPerTask = 25
        // The probes start with a 1 MiB map, so the map also grows under them (MDB_MAP_RESIZED).
        let children = try (0..<processes).map { index in
            try ChildProcess(
                Probe.executable, ["concurrent", directory.path, "p\(index)", "\(tasksPerProcess)", "\(eventsPerTask)"])
        }
        // Tasks of this process too, through the same log files.
        let log = try TestLogs.open(directory.path, options: TestLogs.options(mapSize: 1 << 20))
        let local = try await withThrowingTaskGroup(of: [String].self) { group in
            for task in 0..<tasksPerProcess {
                group.addTask {
                    var lines: [String] = []
                    for index in 0..<eventsPerTask {
                        let key = "here-\(task)-\(index)"
                        let draft = EventDraft(
                            organizationID: "org-\(task % 7)", eventType: "test.usage", occurredAt: Date(),
                            idempotencyKey: key, payload: Probe.payload(for: key))
                        let receipt = try await log.append(draft)
                        lines.append("ack \(receipt.sequence) org-\(task % 7) \(key) \(receipt.isDuplicate)")
                    }
                    return lines
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        var lines = local
        for child in children {
            #expect(child.wait() == 0)
            lines += child.lines
        }

        var firstSequence: [String: UInt64] = [:]
        var retries: [(String, UInt64)] = []
        for line in lines {
            let parts = line.split(separator: " ")
            try #require(parts.count == 5, "malformed line \(line)")
            let sequence = try #require(UInt64(parts[1]))
            let key = String(parts[3])
            if parts[4] == "true" {
                retries.append((key, sequence))
            } else {
                #expect(firstSequence[key] == nil, "\(key) appended twice")
                firstSequence[key] = sequence
            }
        }
        let total = (processes + 1) * tasksPerProcess * eventsPerTask
        #expect(firstSequence.count == total)
        #expect(Set(firstSequence.values) == Set(1...UInt64(total)), "no gap and no duplicate sequence")
        #expect(retries.count == processes * tasksPerProcess * ((eventsPerTask + 2) / 3))
        for (key, sequence) in retries {
            #expect(firstSequence[key] == sequence, "retry of \(key)")
        }
        let report = try log.verify()
        #expect(report.isIntact, "\(String(describing: report.failure))")
        #expect(report.head?.sequence == UInt64(total))
        for event in try log.events(from: 1, limit: .max) {
            #expect(firstSequence[event.idempotencyKey ?? ""] == event.sequence)
            #expect(event.payload == Probe.payload(for: event.idempotencyKey ?? ""))
        }
    }
}
