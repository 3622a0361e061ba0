import Dispatch
import Foundation
import Synchronization

/// Work the writer thread hands to a second core while it does its own share, then waits
/// for. Only for the writer thread (or another thread of our own): waiting blocks the thread,
/// which a Swift concurrency task must never do.
enum HelperThread {
    /// Whether there is a second core to hand work to.
    static let isAvailable = ProcessInfo.processInfo.activeProcessorCount >= 2

    /// Starts `work` on a helper thread; `result()` waits for what it returned or threw.
    static func start<T: Sendable>(_ work: @escaping @Sendable () throws -> T) -> Handle<T> {
        let handle = Handle<T>()
        DispatchQueue.global(qos: .userInitiated).async {
            let result = Result { try work() }
            handle.outcome.withLock { $0 = result }
            handle.done.signal()
        }
        return handle
    }

    final class Handle<T: Sendable>: Sendable {
        fileprivate let outcome = Mutex<Result<T, any Error>?>(nil)
        fileprivate let done = DispatchSemaphore(value: 0)

        /// Waits for the work to finish. Call exactly once.
        func result() -> Result<T, any Error> {
            done.wait()
            return outcome.withLock { $0! }
        }
    }
}
