// A child process for the crash and multi-process tests of EventLogTests.
//
//   TallyTestProbe append-loop DIR ORG [BATCH [stream]]
//       Appends forever (synchronously, batches of BATCH events, default 1; with "stream",
//       as streamed appends) and prints "ack SEQUENCE KEY" for every event once its commit
//       has returned. Killed by the test.
//   TallyTestProbe concurrent DIR PROCESS TASKS EVENTS
//       TASKS tasks each append EVENTS events asynchronously; every third event is appended
//       twice (a retry with the same idempotency key). Prints "ack SEQUENCE KEY DUPLICATE".
//   TallyTestProbe hold-reader DIR
//       Opens a read transaction, prints "reading" and sleeps inside it until killed.
//   TallyTestProbe fill DIR COUNT
//       Writes COUNT values of 1 KiB into database "values" of a raw environment that starts
//       with a 64 KiB map, so the map grows; prints the final map size.
import EventLog
import Foundation
import LMDB

/// Writes a line straight to standard output (no buffering), so the parent sees each
/// acknowledgement the moment it is made, even if this process is killed right after.
func emit(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

/// The payload is a pure function of the key, so a reader can check it is intact.
func probePayload(for key: String) -> Data {
    Data(String(repeating: "usage:\(key);", count: 4).utf8)
}

func openLog(_ directory: String) throws -> EventLog {
    var registry = EventTypeRegistry()
    registry.register("test.usage")
    var options = EventLogOptions(registry: registry)
    options.environment.mapSize = 1 << 20  // small, so the map grows while children write
    return try EventLog(directory: directory, options: options)
}

func draft(organization: String, key: String) -> EventDraft {
    EventDraft(
        organizationID: organization, eventType: "test.usage", occurredAt: Date(),
        idempotencyKey: key, payload: probePayload(for: key))
}

let arguments = CommandLine.arguments
guard arguments.count >= 3 else {
    FileHandle.standardError.write(Data("usage: TallyTestProbe append-loop|concurrent|hold-reader|fill ...\n".utf8))
    exit(2)
}

// The probe runs until its test kills it. Should the test process die first (a crash), the
// probe would run on, and hold the test runner's output open so that it never finishes: so
// it exits as soon as it is orphaned.
let parent = getppid()
Thread.detachNewThread {
    while getppid() == parent { usleep(100_000) }
    exit(3)
}

switch arguments[1] {
case "append-loop":
    guard arguments.count >= 4 else { exit(2) }
    let log = try openLog(arguments[2])
    let organization = arguments[3]
    let batchSize = arguments.count > 4 ? Int(arguments[4]) ?? 1 : 1
    // "stream": each batch is a streamed append, decided on a helper thread while appended.
    let streamed = arguments.count > 5 && arguments[5] == "stream"
    var counter = 0
    while true {
        let keys = (0..<batchSize).map { "\(organization)-\(counter + $0)" }
        counter += batchSize
        let drafts = keys.map { draft(organization: organization, key: $0) }
        let receipts =
            streamed
            ? try log.appendSynchronously(streaming: { _, sink in for draft in drafts { try sink.emit(draft) } })
            : try log.appendSynchronously(contentsOf: drafts)
        for (receipt, key) in zip(receipts, keys) {
            emit("ack \(receipt.sequence) \(key)")
        }
    }

case "concurrent":
    guard arguments.count == 6, let tasks = Int(arguments[4]), let events = Int(arguments[5]) else { exit(2) }
    let log = try openLog(arguments[2])
    let process = arguments[3]
    try await withThrowingTaskGroup(of: [String].self) { group in
        for task in 0..<tasks {
            group.addTask {
                var lines: [String] = []
                let organization = "org-\(task % 7)"
                for index in 0..<events {
                    let key = "\(process)-\(task)-\(index)"
                    let receipt = try await log.append(draft(organization: organization, key: key))
                    lines.append("ack \(receipt.sequence) \(organization) \(key) \(receipt.isDuplicate)")
                    if index % 3 == 0 {
                        let retry = try await log.append(draft(organization: organization, key: key))
                        lines.append("ack \(retry.sequence) \(organization) \(key) \(retry.isDuplicate)")
                    }
                }
                return lines
            }
        }
        for try await lines in group {
            emit(lines.joined(separator: "\n"))
        }
    }

case "hold-reader":
    let environment = try Environment.open(at: arguments[2])
    let values = try environment.database(named: "values")
    try environment.read { txn in
        _ = try txn.entryCount(in: values)
        emit("reading")
        while true { sleep(60) }
    }

case "fill":
    var options = EnvironmentOptions()
    options.mapSize = 1 << 16
    let environment = try Environment.open(at: arguments[2], options: options)
    let values = try environment.database(named: "values")
    let value = [UInt8](repeating: 0xAB, count: 1024)
    for index in 0..<(Int(arguments[3]) ?? 0) {
        try environment.write { txn in
            try txn.put(value, forKey: withUnsafeBytes(of: UInt64(index).bigEndian) { Array($0) }, in: values)
        }
    }
    emit("map \(environment.mapSize)")

default:
    FileHandle.standardError.write(Data("unknown probe command \(arguments[1])\n".utf8))
    exit(2)
}
