/// Async appends waiting for the next group commit.
struct PendingAppends {
    struct Request {
        var work: AppendWork
        var continuation: CheckedContinuation<[AppendReceipt], any Error>
    }

    var requests: [Request] = []
    /// True while a flush job is queued on (or running on) the writer thread and will look
    /// at `requests` again, so a new request need not queue another.
    var flushScheduled = false

    /// Takes requests from the front, up to `maximumEvents` events (at least one request).
    mutating func takeBatch(maximumEvents: Int) -> [Request] {
        var count = 0
        var taken = 0
        while taken < requests.count && (taken == 0 || count + requests[taken].work.eventCountEstimate <= maximumEvents)
        {
            count += requests[taken].work.eventCountEstimate
            taken += 1
        }
        let batch = Array(requests[..<taken])
        requests.removeFirst(taken)
        return batch
    }
}

/// What one append request asks of the writer.
enum AppendWork: Sendable {
    /// Events validated and serialized by the caller.
    case events([PreparedEvent])
    /// A closure that decides the events inside the write transaction.
    case decide(@Sendable (borrowing AppendDecision) throws -> [EventDraft])
    /// A closure that decides the events one by one, appended as they come when it can run on
    /// a second core (`EventLog.append(streaming:)`).
    case stream(@Sendable (borrowing AppendDecision, DraftSink) throws -> Void)

    var eventCountEstimate: Int {
        switch self {
        case .events(let events): events.count
        case .decide, .stream: 1
        }
    }
}
