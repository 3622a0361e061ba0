/// Async appends waiting for the next group commit.
struct PendingAppends {
    struct Request {
        var events: [PreparedEvent]
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
        while taken < requests.count && (taken == 0 || count + requests[taken].events.count <= maximumEvents) {
            count += requests[taken].events.count
            taken += 1
        }
        let batch = Array(requests[..<taken])
        requests.removeFirst(taken)
        return batch
    }
}
