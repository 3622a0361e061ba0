import Foundation

/// The OS thread of an environment on which group commits run.
///
/// A commit blocks on fsync, so the writes of async callers never run on Swift's cooperative
/// pool: they hand jobs to this thread, which runs them in order.
final class WriterThread: @unchecked Sendable {  // All mutable state is guarded by `condition`.
    private let condition = NSCondition()
    private var jobs: [@Sendable () -> Void] = []
    private var started = false
    private var stopping = false
    private var finished = false
    private let name: String

    init(name: String) {
        self.name = name
    }

    /// True when called on this writer's thread.
    var isCurrentThread: Bool {
        Thread.current.threadDictionary[WriterThread.marker] as? ObjectIdentifier == ObjectIdentifier(self)
    }

    /// Runs `job` on the writer thread after every job submitted before it.
    func submit(_ job: @escaping @Sendable () -> Void) {
        condition.lock()
        precondition(!stopping, "a write was submitted to a closed environment")
        jobs.append(job)
        if !started {
            started = true
            let thread = Thread { [self] in self.loop() }
            thread.name = name
            thread.start()
        }
        condition.signal()
        condition.unlock()
    }

    /// Lets queued jobs finish, then ends the thread. Waits for it unless called on it.
    func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        let mustWait = started && !isCurrentThread
        while mustWait && !finished { condition.wait() }
        condition.unlock()
    }

    private static let marker = "tally.lmdb.writer"

    private func loop() {
        Thread.current.threadDictionary[WriterThread.marker] = ObjectIdentifier(self)
        while true {
            condition.lock()
            while jobs.isEmpty && !stopping { condition.wait() }
            if jobs.isEmpty {
                finished = true
                condition.broadcast()
                condition.unlock()
                return
            }
            let batch = jobs
            jobs.removeAll(keepingCapacity: true)
            condition.unlock()
            for job in batch { job() }
        }
    }
}
