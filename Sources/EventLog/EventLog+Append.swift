import Foundation
import LMDB
import TallySupport

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
    public func append(deciding decide: @escaping @Sendable (borrowing AppendDecision) throws -> [EventDraft])
        async throws -> [AppendReceipt]
    {
        try await enqueue(.decide(decide))
    }

    /// Appends the events `decide` emits into its sink, in order, appending the first ones
    /// while it decides the rest: for a large request whose deciding costs about as much as
    /// appending (a batch of usage, each event checked against a quota).
    ///
    /// When this request is the first of its group commit to write and the machine has a
    /// second core, `decide` runs there, reading through a read-only transaction begun beside
    /// the write transaction: it sees exactly what the write transaction began from, never the
    /// events being appended meanwhile, so it must account for its own earlier events itself.
    /// Otherwise it runs on the writer thread, reading through the write transaction (after the
    /// earlier requests of the group commit), and its events are appended when it returns.
    /// Either way the request is all or nothing: if `decide` throws, or an event is invalid or
    /// reuses an idempotency key for other content, none of its events commits (the other
    /// requests of the group commit are then appended without it, deciding again). `emit`
    /// throws when the append is called off; let that error through. Receipts come in the
    /// order of emission.
    public func append(streaming decide: @escaping @Sendable (borrowing AppendDecision, DraftSink) throws -> Void)
        async throws -> [AppendReceipt]
    {
        try await enqueue(.stream(decide))
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
                logger.error(
                    "group commit failed; none of its events was appended",
                    metadata: ["error": "\(error)", "requests": "\(batch.count)"])
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
    public func appendSynchronously(
        deciding decide: @escaping @Sendable (borrowing AppendDecision) throws -> [EventDraft]
    ) throws -> [AppendReceipt] {
        try commit([.decide(decide)], abortIfAllFail: true)[0].get()
    }

    /// `append(streaming:)` on the calling thread, blocking until the commit is durable.
    public func appendSynchronously(
        streaming decide: @escaping @Sendable (borrowing AppendDecision, DraftSink) throws -> Void
    ) throws -> [AppendReceipt] {
        try commit([.stream(decide)], abortIfAllFail: true)[0].get()
    }

    // MARK: Shared

    /// Validates every draft and serializes what it can. `now` is the writer thread's commit
    /// time, for decided drafts; callers' drafts are prepared on their own task.
    private func prepare(_ drafts: [EventDraft], now writerTime: Date? = nil) throws(EventLogError) -> [PreparedEvent] {
        try EventDraft.validate(
            drafts, from: drafts.count > 1 ? 0 : nil, against: options, now: writerTime ?? options.clock())
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

    /// One write transaction for several requests, each all or nothing. A streamed request
    /// that fails after some of its events were written dooms the transaction: it is then
    /// committed again without that request.
    private func commit(_ requests: [AppendWork], abortIfAllFail: Bool = false) throws -> [Result<
        [AppendReceipt], any Error
    >] {
        do {
            return try commitOnce(requests, abortIfAllFail: abortIfAllFail)
        } catch let failed as StreamedRequestFailed {
            var others = requests
            others.remove(at: failed.request)
            var outcomes = others.isEmpty ? [] : try commit(others, abortIfAllFail: abortIfAllFail)
            outcomes.insert(.failure(failed.error), at: failed.request)
            return outcomes
        }
    }

    private func commitOnce(_ requests: [AppendWork], abortIfAllFail: Bool) throws -> [Result<
        [AppendReceipt], any Error
    >] {
        // The number of the attempt that commits (a retry after map growth reuses it), and
        // whether it appended anything: LMDB does not use up the number of a transaction that
        // wrote nothing, so another writer may commit under it, and observers must not then
        // take our commit for the latest.
        var committed: UInt64 = 0
        var appendedAny = false
        let outcomes = try writeObserved { txn in
            committed = txn.lmdbID
            let now = options.clock()  // one reading for every decision of the commit
            var appender = try AppendTransaction(
                txn: txn, databases: databases, recordedAt: now, observer: options.observer)
            let firstHead = appender.head?.sequence
            var outcomes: [Result<[AppendReceipt], any Error>] = []
            outcomes.reserveCapacity(requests.count)
            for (index, work) in requests.enumerated() {
                // Nothing appended yet: a reader begun beside `txn` sees what it sees.
                let unwritten = appender.head?.sequence == firstHead ? (environment, txn) : nil
                switch work {
                case .events(let events):
                    outcomes.append(try appender.append(events).mapError { $0 as any Error })
                case .decide(let decide):
                    outcomes.append(try decideHere(decide, into: &appender, txn, now: now))
                case .stream(let decide):
                    if let unwritten, HelperThreads.haveSecondCore {
                        outcomes.append(
                            try stream(decide, request: index, beside: unwritten, into: &appender, now: now))
                    } else {
                        outcomes.append(
                            try decideHere(
                                { decision in try Self.collect(decide, decision) }, into: &appender, txn, now: now))
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

    /// A deciding request, decided on the writer thread and then appended. The closure only
    /// reads; if it or its events fail, nothing was written.
    private func decideHere(
        _ decide: (borrowing AppendDecision) throws -> [EventDraft], into appender: inout AppendTransaction,
        _ txn: WriteTransaction, now: Date
    ) throws -> Result<[AppendReceipt], any Error> {
        let decided: Result<([PreparedEvent], Set<IndexKey>), any Error> = Result {
            let decision = AppendDecision(
                head: appender.head, transaction: txn, idempotencyIndex: databases.idempotency,
                events: databases.events,
                options: options, now: now)
            return (try prepare(decide(decision), now: now), decision.unusedKeys.keys)
        }
        switch decided {
        case .success(let (events, unusedKeys)):
            return try appender.append(events, knownUnused: unusedKeys).mapError { $0 as any Error }
        case .failure(let error):
            return .failure(error)
        }
    }

    /// A streaming decision run to the end on this thread: everything it emitted.
    private static func collect(
        _ decide: (borrowing AppendDecision, DraftSink) throws -> Void, _ decision: borrowing AppendDecision
    ) throws -> [EventDraft] {
        let sink = DraftSink()
        try decide(decision, sink)
        return sink.pending
    }

    /// A streamed request: decided on a helper thread, which hands its events over in chunks,
    /// each appended here as it comes. The writer waits for the helper before it returns or
    /// throws, since the helper reads beside the write transaction.
    private func stream(
        _ decide: @escaping @Sendable (borrowing AppendDecision, DraftSink) throws -> Void, request: Int,
        beside unwritten: (environment: Environment, transaction: WriteTransaction),
        into appender: inout AppendTransaction, now: Date
    ) throws -> Result<[AppendReceipt], any Error> {
        let txn = unwritten.transaction
        let channel = DraftChannel()
        let context = HelperContext(
            head: appender.head, environment: unwritten.environment, writer: txn,
            idempotencyIndex: databases.idempotency,
            events: databases.events, options: options, now: now)
        let helper = HelperThreads.start {
            var began = false
            do {
                try context.environment.read(besides: context.writer) { reader in
                    began = true
                    let decision = AppendDecision(
                        head: context.head, transaction: reader, idempotencyIndex: context.idempotencyIndex,
                        events: context.events,
                        options: context.options, now: context.now)
                    let sink = DraftSink(
                        streamingTo: channel,
                        rules: .init(options: context.options, now: context.now, unusedKeys: decision.unusedKeys))
                    try decide(decision, sink)
                    try sink.handOver(to: channel)
                }
                channel.push(.finished)
            } catch let error as LMDBError where error.code == .readersFull && !began {
                channel.push(.noReader)  // every reader slot is taken: the decision has not run
            } catch {
                channel.push(.failed(error))
            }
        }
        var joined = false
        func join() {
            guard !joined else { return }
            joined = true
            _ = helper.result()
        }
        var progress = AppendTransaction.RequestProgress()
        /// The request failed: as if it never ran when nothing of it was written, else the
        /// transaction must go.
        func failed(_ error: any Error) throws -> Result<[AppendReceipt], any Error> {
            guard !progress.wroteEvents else { throw StreamedRequestFailed(request: request, error: error) }
            try appender.endRequest()
            return .failure(error)
        }
        /// The writer found the request failing: the decision stops, then the request fails.
        func callOff(_ error: any Error) throws -> Result<[AppendReceipt], any Error> {
            channel.cancel()
            join()
            return try failed(error)
        }
        do {
            while true {
                switch channel.receive() {
                case .chunk(let chunk, let knownUnused):
                    let events: [PreparedEvent]
                    switch chunk {
                    case .prepared(let prepared): events = prepared
                    case .drafts(let drafts, let firstIndex):
                        do {
                            events = try DraftSink.prepare(drafts, from: firstIndex, by: options, now: now)
                        } catch {
                            return try callOff(error)
                        }
                    }
                    if case .failure(let conflict) = try appender.append(
                        chunk: events, knownUnused: knownUnused, to: &progress)
                    {
                        return try callOff(conflict)
                    }
                case .finished:
                    join()
                    try appender.endRequest()
                    countStreamedRequest()
                    return .success(progress.receipts)
                case .failed(let error):
                    join()
                    return try failed(error)
                case .noReader:
                    join()
                    // Nothing of the request was streamed: end it (the observer may hand work
                    // to another thread again) and decide it here.
                    try appender.endRequest()
                    return try decideHere(
                        { decision in try Self.collect(decide, decision) }, into: &appender, txn, now: now)
                }
            }
        } catch {
            channel.cancel()
            join()
            throw error
        }
    }
}

/// A streamed request failed after some of its events were written: the transaction aborts,
/// and the group commit goes again without it.
private struct StreamedRequestFailed: Error {
    let request: Int
    let error: any Error
}

extension Result {
    var failure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
