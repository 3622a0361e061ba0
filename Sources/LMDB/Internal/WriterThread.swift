import Foundation

/// The one OS thread of an environment on which every write transaction runs.
///
/// LMDB requires a write transaction to end on the thread that began it, and a commit blocks
/// on fsync, so writes never run on Swift's cooperative pool: callers hand jobs to this
/// thread, in order, and either wait (``runAndWait(_:)``) or are told when done (``submit(_:)``).
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

    /// Runs `body` on the writer thread and blocks the calling thread until it returns.
    /// Called on the writer thread itself, it runs `body` inline.
    func runAndWait<R>(_ body: () throws -> R) throws -> R {
        if isCurrentThread { return try body() }
        return try withoutActuallyEscaping(body) { escapable in
            // Safe to share: the caller is blocked until the job has finished with both boxes.
            let work = UncheckedBox<(() throws -> R)?>(escapable)
            let outcome = UncheckedBox<Result<R, any Error>?>(nil)
            let done = DispatchSemaphore(value: 0)
            submit {
                outcome.value = Result { try work.value!() }
                work.value = nil  // `body` must not outlive this call, even inside the queued job
                done.signal()
            }
            done.wait()
            return try outcome.value!.get()
        }
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

/// Carries a value across a concurrency boundary where the code around it guarantees
/// that only one thread touches it at a time.
final class UncheckedBox<Value>: @unchecked Sendable {
    var value: Value
    init(_ value: Value) { self.value = value }
}
