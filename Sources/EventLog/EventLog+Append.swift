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
        return try await enqueue(.events(events))
    }

    /// Appends the events `decide` returns, deciding them inside the write transaction.
    ///
    /// `decide` runs on the writer thread, after the earlier requests of the same group
    /// commit, and reads through the append's own transaction: what it checks (a quota, a
    /// subscription's state) cannot change before its events commit. It must be quick and
    /// must not block. Its events are validated like any others; if it throws, or they are
    /// invalid, only this request fails. Receipts come in the order `decide` returned.
    ///
    /// ```swift
    /// let receipts = try await log.append { decision in
    ///     let used = try usage(in: decision.transaction)
    ///     guard used < limit else { throw QuotaExceeded() }
    ///     return [usageEvent]
    /// }
    /// ```
    public func append(deciding decide: @escaping @Sendable (borrowing AppendDecision) throws -> [EventDraft]) async throws -> [AppendReceipt] {
        try await enqueue(.decide(decide))
    }

    private func enqueue(_ work: AppendWork) async throws -> [AppendReceipt] {
        try await withCheckedThrowingContinuation { continuation in
            let mustSchedule = pendingAppends.withLock { pending in
                pending.requests.append(.init(work: work, continuation: continuation))
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
                let outcomes = try commit(batch.map(\.work))
                for (request, outcome) in zip(batch, outcomes) {
                    request.continuation.resume(with: outcome)
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
        return try commit([.events(events)], abortIfAllFail: true)[0].get()
    }

    /// `append(deciding:)` on the calling thread, blocking until the commit is durable.
    public func appendSynchronously(deciding decide: @escaping @Sendable (borrowing AppendDecision) throws -> [EventDraft]) throws -> [AppendReceipt] {
        try commit([.decide(decide)], abortIfAllFail: true)[0].get()
    }

    // MARK: Shared

    /// Validates every draft and serializes what it can. `now` is the writer thread's commit
    /// time, for decided drafts; callers' drafts are prepared on their own task.
    private func prepare(_ drafts: [EventDraft], now writerTime: Date? = nil) throws(EventLogError) -> [PreparedEvent] {
        let now = writerTime ?? options.clock()
        for (index, draft) in drafts.enumerated() {
            do {
                try draft.validate(against: options, now: now, index: drafts.count > 1 ? index : nil)
            } catch {
                throw .invalidEvent(error)
            }
        }
        return PreparedEvent.preparing(drafts, onWriterThread: writerTime != nil)
    }

    /// A write transaction whose observer hears of it before it aborts (`transactionWillAbort`).
    func writeObserved<R>(_ body: (WriteTransaction) throws -> R) throws -> R {
        try environment.write { txn in
            do {
                return try body(txn)
            } catch {
                options.observer?.transactionWillAbort(in: txn)
                throw error
            }
        }
    }

    /// One write transaction for several requests, each all or nothing.
    private func commit(_ requests: [AppendWork], abortIfAllFail: Bool = false) throws -> [Result<[AppendReceipt], any Error>] {
        // The number of the attempt that commits (a retry after map growth reuses it), and
        // whether it appended anything: LMDB does not use up the number of a transaction that
        // wrote nothing, so another writer may commit under it, and observers must not then
        // take our commit for the latest.
        var committed: UInt64 = 0
        var appendedAny = false
        let outcomes = try writeObserved { txn in
            committed = txn.lmdbID
            let now = options.clock()  // one reading for every decision of the commit
            var appender = try AppendTransaction(txn: txn, databases: databases, recordedAt: now, observer: options.observer)
            let firstHead = appender.head?.sequence
            var outcomes: [Result<[AppendReceipt], any Error>] = []
            outcomes.reserveCapacity(requests.count)
            for work in requests {
                switch work {
                case .events(let events):
                    outcomes.append(try appender.append(events).mapError { $0 as any Error })
                case .decide(let decide):
                    // The closure only reads; if it or its events fail, nothing was written.
                    let decided: Result<([PreparedEvent], Set<IndexKey>), any Error> = Result {
                        // Nothing appended yet: a reader begun beside `txn` sees what it sees.
                        let unwritten = appender.head?.sequence == firstHead ? (environment, txn) : nil
                        let decision = AppendDecision(
                            head: appender.head, transaction: txn, idempotencyIndex: databases.idempotency, events: databases.events,
                            options: options, now: now, unwrittenWriter: unwritten)
                        return (try prepare(decide(decision), now: now), decision.unusedKeys.keys)
                    }
                    switch decided {
                    case .success(let (events, unusedKeys)):
                        outcomes.append(try appender.append(events, knownUnused: unusedKeys).mapError { $0 as any Error })
                    case .failure(let error): outcomes.append(.failure(error))
                    }
                }
            }
            if abortIfAllFail, outcomes.allSatisfy({ $0.failure != nil }), let failure = outcomes.first?.failure {
                throw failure  // nothing was written: abort rather than commit an empty transaction
            }
            try options.observer?.transactionWillCommit(head: appender.head, in: txn)
            appendedAny = appender.head?.sequence != firstHead
            return outcomes
        }
        if appendedAny { options.observer?.transactionDidCommit(lmdbID: committed) }
        return outcomes
    }
}

extension Result {
    var failure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
