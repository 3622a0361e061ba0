import Foundation
import Synchronization
import TallySupport
import Testing

@Suite("Helper threads for the writer")
struct HelperThreadsTests {
    @Test(
        "every job gets a thread at once, however many wait: eight jobs that each wait for all eight to start finish within 3,000 polls"
    )
    func everyJobGetsAThread() {
        let jobs = 8
        let started = Atomic<Int>(0)
        let handles = (0..<jobs).map { _ in
            HelperThreads.start { () -> Bool in
                started.add(1, ordering: .sequentiallyConsistent)
                // Dispatch's global queues start one thread per core, and add more only after
                // seconds of blocked ones (6 s for these eight on two cores): too late. A count of
                // millisecond polls, not a clock reading, bounds the wait.
                for _ in 0..<3_000 {
                    if started.load(ordering: .sequentiallyConsistent) == jobs { return true }
                    usleep(1_000)
                }
                return false
            }
        }
        let results = handles.map { $0.result() }
        #expect(results.allSatisfy { (try? $0.get()) == true })
    }

    @Test("a job's error comes back to whoever waits for it")
    func errorsComeBack() throws {
        struct Broken: Error, Equatable {}
        let handle = HelperThreads.start { () throws -> Int in throw Broken() }
        #expect(throws: Broken.self) { try handle.result().get() }
        #expect(try HelperThreads.start { 42 }.result().get() == 42)
    }
}
