import Foundation

/// Carries a streaming decision's events from the thread deciding them to the writer, which
/// appends each chunk as it comes (`EventLog.append(streaming:)`). The decider never waits;
/// the writer waits for the next item.
final class DraftChannel: @unchecked Sendable {  // All mutable state is guarded by `condition`.
    /// What the writer receives, in order: chunks, then one of the other three.
    enum Item {
        /// Drafts, with the idempotency keys the decision found unused.
        case chunk(Chunk, knownUnused: Set<IndexKey>)
        /// The decision returned, and everything it emitted came before this.
        case finished
        /// The decision (or a draft it emitted) failed: the request fails as a whole.
        case failed(any Error)
        /// No reader slot was free, so the decision did not run: the writer must run it.
        case noReader
    }

    /// Drafts validated and prepared by the decider, or left for the writer to prepare.
    enum Chunk {
        case prepared([PreparedEvent])
        /// The first is the request's draft `firstIndex` (for error messages).
        case drafts([EventDraft], firstIndex: Int)
    }

    /// Thrown into the decision when the writer calls the append off.
    struct Cancelled: Error {}

    /// Drafts per chunk: `chunk` while the writer has chunks waiting, else `smallChunk`
    /// (and the first), so that the writer does not wait for a whole chunk to be decided.
    static let smallChunk = 4
    static let chunk = 64

    private let condition = NSCondition()
    private var items: [Item] = []
    private var next = 0
    private var cancelled = false

    func push(_ item: Item) {
        condition.lock()
        items.append(item)
        condition.signal()
        condition.unlock()
    }

    /// The next item, waiting for it.
    func receive() -> Item {
        condition.lock()
        defer { condition.unlock() }
        while next == items.count { condition.wait() }
        let item = items[next]
        next += 1
        if next == items.count {  // drained: let go of the chunks received
            items.removeAll(keepingCapacity: true)
            next = 0
        }
        return item
    }

    /// Tells the decision to stop at its next emitted event.
    func cancel() {
        condition.lock()
        cancelled = true
        condition.unlock()
    }

    /// Whether items wait that the writer has not received yet.
    var hasBacklog: Bool {
        condition.lock()
        defer { condition.unlock() }
        return next < items.count
    }

    var isCancelled: Bool {
        condition.lock()
        defer { condition.unlock() }
        return cancelled
    }
}
