import Foundation
import LMDB

extension EventLog {
    // MARK: Async appends, for services

    /// Appends one event and returns once its commit is durable.
    ///
    /// Concurrent callers share one write transaction (group commit). Appending an
    /// (organization, idempotency key) the log already holds appends nothing and returns
    /// the original's sequence with `isDuplicate` set.
    ///
    /// - Throws: `EventLogError.invalidEvent` naming the field and rule,
    ///   `EventLogError.idempotencyConflict`, or an `LMDBError` when the commit failed
    ///   (then no event of that commit was appended).
    public func append(_ draft: EventDraft) async throws -> AppendReceipt {
        try await append(contentsOf: [draft])[0]
    }

    /// Appends `drafts` atomically, all or none, and returns once the commit is durable.
    /// Receipts come in the order of `drafts`.
    public func append(contentsOf drafts: [EventDraft]) async throws -> [AppendReceipt] {
        let events = try prepare(drafts)
        guard !events.isEmpty else { return [] }
        return try await withCheckedThrowingContinuation { continuation in
            let mustSchedule = pendingAppends.withLock { pending in
                pending.requests.append(.init(events: events, continuation: continuation))
                defer { pending.flushScheduled = true }
                return !pending.flushScheduled
            }
            if mustSchedule {
                environment.submitToWriter { self.flushPendingAppends() }
            }
        }
    }

    /// Runs on the writer thread: commits everything waiting, then resumes every waiter.
    private func flushPendingAppends() {
        let (batch, more) = pendingAppends.withLock { pending in
            let batch = pending.takeBatch(maximumEvents: options.maximumEventsPerCommit)
            pending.flushScheduled = !pending.requests.isEmpty
            return (batch, pending.flushScheduled)
        }
        if !batch.isEmpty {
            do {
                let outcomes = try commit(batch.map(\.events))
                for (request, outcome) in zip(batch, outcomes) {
                    request.continuation.resume(with: outcome.mapError { $0 as any Error })
                }
            } catch {
                logger.error("group commit failed; none of its events was appended", metadata: ["error": "\(error)", "requests": "\(batch.count)"])
                for request in batch { request.continuation.resume(throwing: error) }
            }
        }
        if more {
            environment.submitToWriter { self.flushPendingAppends() }
        }
    }

    // MARK: Synchronous appends, for tools and imports

    /// Appends one event on the calling thread's behalf, blocking until its commit is durable.
    public func appendSynchronously(_ draft: EventDraft) throws -> AppendReceipt {
        try appendSynchronously(contentsOf: [draft])[0]
    }

    /// Appends `drafts` atomically, all or none, blocking until the commit is durable.
    public func appendSynchronously(contentsOf drafts: [EventDraft]) throws -> [AppendReceipt] {
        let events = try prepare(drafts)
        guard !events.isEmpty else { return [] }
        let outcomes = try commit([events], abortIfAllFail: true)
        return try outcomes[0].get()
    }

    // MARK: Shared

    /// Validates every draft and serializes what it can, on the caller's thread.
    private func prepare(_ drafts: [EventDraft]) throws -> [PreparedEvent] {
        let now = options.clock()
        for (index, draft) in drafts.enumerated() {
            do {
                try draft.validate(against: options, now: now, index: drafts.count > 1 ? index : nil)
            } catch {
                throw EventLogError.invalidEvent(error)
            }
        }
        return drafts.map(PreparedEvent.init)
    }

    /// One write transaction for several requests, each all or nothing.
    private func commit(_ requests: [[PreparedEvent]], abortIfAllFail: Bool = false) throws -> [Result<[AppendReceipt], EventLogError>] {
        try environment.write { txn in
            var appender = try AppendTransaction(txn: txn, databases: databases, recordedAt: options.clock())
            var outcomes: [Result<[AppendReceipt], EventLogError>] = []
            outcomes.reserveCapacity(requests.count)
            for events in requests {
                outcomes.append(try appender.append(events))
            }
            if abortIfAllFail, outcomes.allSatisfy({ $0.failure != nil }), let failure = outcomes.first?.failure {
                throw failure  // nothing was written: abort rather than commit an empty transaction
            }
            return outcomes
        }
    }
}

extension Result {
    var failure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
