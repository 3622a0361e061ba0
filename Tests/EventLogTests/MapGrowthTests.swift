import EventLog
import Foundation
import LMDB
import Testing

@Suite("The map grows transparently")
struct MapGrowthTests {
    @Test("a tiny map grows across one large batch; nothing is lost or duplicated")
    func largeBatch() throws {
        let directory = TemporaryDirectory()
        let log = try TestLogs.open(directory.path, options: TestLogs.options(mapSize: 1 << 16))
        let before = log.environment.mapSize
        let receipts = try log.appendSynchronously(
            contentsOf: (0..<20_000).map { TestLogs.usage(key: "g\($0)", quantity: $0) })
        #expect(receipts.map(\.sequence) == Array(1...20_000))
        #expect(log.environment.mapGrowths >= 3)
        #expect(log.environment.mapSize > before)
        let report = try log.verify()
        #expect(report.isIntact)
        #expect(report.eventsChecked == 20_000)
        #expect(try log.appendSynchronously(TestLogs.usage(key: "g19999", quantity: 19_999)).isDuplicate)
    }

    @Test("group commits from many tasks grow a tiny map without losing an acknowledgement")
    func concurrentGrowth() async throws {
        let directory = TemporaryDirectory()
        let log = try TestLogs.open(directory.path, options: TestLogs.options(mapSize: 1 << 16))
        let sequences = try await withThrowingTaskGroup(of: [UInt64].self) { group in
            for task in 0..<100 {
                group.addTask {
                    var out: [UInt64] = []
                    for index in 0..<50 {
                        out.append(try await log.append(TestLogs.usage(key: "t\(task)-\(index)")).sequence)
                    }
                    return out
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        #expect(Set(sequences) == Set(1...5000))
        #expect(log.environment.mapGrowths >= 1)
        #expect(try log.verify().isIntact)
    }
}
