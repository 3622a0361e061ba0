import Foundation
import Synchronization

/// Threads of our own for work a writer hands to a second core and then waits for: half of a
/// usage batch's decisions, a rebuild's second lane.
///
/// Not Dispatch's global queues: those start one thread per core and add more only after
/// seconds of blocked ones, so a process whose queue threads were blocked in synchronous
/// appends, waiting for the writer, would leave the writer waiting seconds for its help. A job here always gets a thread: an idle one,
/// or a new one, which stays for later jobs. There are about as many as writers that wait at once.
package enum HelperThreads {
    /// Whether there is a second core to hand work to.
    package static let haveSecondCore = ProcessInfo.processInfo.activeProcessorCount >= 2

    /// Starts `work` on a helper thread; `result()` waits for what it returned or threw.
    package static func start<T: Sendable>(_ work: @escaping @Sendable () throws -> T) -> Handle<T> {
        let handle = Handle<T>()
        pool.submit {
            let result = Result { try work() }
            handle.outcome.withLock { $0 = result }
            handle.done.signal()
        }
        return handle
    }

    /// Work started on a helper thread.
    package final class Handle<T: Sendable>: Sendable {
        fileprivate let outcome = Mutex<Result<T, any Error>?>(nil)
        fileprivate let done = DispatchSemaphore(value: 0)

        /// Waits for the work to finish, blocking this thread (never call it from a task). Call once.
        package func result() -> Result<T, any Error> {
            done.wait()
            return outcome.withLock { $0! }
        }
    }

    private static let pool = Pool()

    private final class Pool: @unchecked Sendable {  // All mutable state is guarded by `condition`.
        private let condition = NSCondition()
        private var jobs: [@Sendable () -> Void] = []
        /// Threads blocked waiting for a job (some may have been signaled and not yet woken).
        private var waiting = 0

        func submit(_ job: @escaping @Sendable () -> Void) {
            condition.lock()
            jobs.append(job)
            let mustSpawn = jobs.count > waiting
            condition.signal()
            condition.unlock()
            if mustSpawn {
                let thread = Thread { [self] in loop() }
                thread.name = "tally.helper"
                thread.start()
            }
        }

        private func loop() {
            condition.lock()
            while true {
                if jobs.isEmpty {
                    waiting += 1
                    condition.wait()
                    waiting -= 1
                    continue
                }
                let job = jobs.removeFirst()
                condition.unlock()
                job()
                condition.lock()
            }
        }
    }
}
