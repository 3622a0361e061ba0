import Foundation

/// Where a streaming decision (`EventLog.append(streaming:)`) puts the events it decides, in
/// order. On a second core, every few events go to the writer, which appends them while the
/// decision goes on; otherwise they are kept and appended when the decision returns.
public final class DraftSink {
    /// Drafts emitted and not yet handed over (or all of them, when collecting).
    private(set) var pending: [EventDraft] = []
    private let channel: DraftChannel?
    private let preparing: PreparingRules?
    /// How many drafts were handed over before `pending`: the index of its first.
    private var handedOver = 0

    /// The rules a streamed chunk is validated by, on the deciding thread.
    struct PreparingRules {
        let options: EventLogOptions
        let now: Date
        let unusedKeys: UnusedKeys
    }

    /// A sink that keeps every draft, for a decision run on the writer thread.
    init() {
        channel = nil
        preparing = nil
    }

    /// A sink that hands chunks of drafts, validated and prepared, to the writer through `channel`.
    init(streamingTo channel: DraftChannel, rules: PreparingRules) {
        self.channel = channel
        preparing = rules
    }

    /// The next decided event. Throws if the append was called off (the write transaction is
    /// aborting): the decision should then stop, letting the error through.
    public func emit(_ draft: EventDraft) throws {
        pending.append(draft)
        guard let channel else { return }
        // Chunks amortize the handover, but the writer should not wait for a whole one: the
        // first goes over small, and so does any other while the writer has none waiting.
        // (`chunk` is a multiple of `smallChunk`: only every `smallChunk`th draft can end one.)
        guard pending.count % DraftChannel.smallChunk == 0 else { return }
        let writerIsBehind = channel.hasBacklog
        if pending.count >= DraftChannel.chunk || handedOver == 0 || !writerIsBehind {
            try handOver(to: channel, writerIsBehind: writerIsBehind)
        }
    }

    /// Hands the pending drafts over. Prepared (validated and serialized) here while the writer
    /// has chunks waiting, so that it catches up; raw while it is waiting for this one, so
    /// that it gets going: it prepares those itself.
    func handOver(to channel: DraftChannel) throws {
        try handOver(to: channel, writerIsBehind: channel.hasBacklog)
    }

    private func handOver(to channel: DraftChannel, writerIsBehind: Bool) throws {
        guard let preparing else { return }
        if channel.isCancelled { throw DraftChannel.Cancelled() }
        guard !pending.isEmpty else { return }
        // The keys the decision found unused so far: the writer need not look them up again.
        let unused = preparing.unusedKeys.keys
        preparing.unusedKeys.keys.removeAll(keepingCapacity: true)
        if writerIsBehind {
            channel.push(
                .chunk(
                    .prepared(try Self.prepare(pending, from: handedOver, by: preparing.options, now: preparing.now)),
                    knownUnused: unused))
        } else {
            channel.push(.chunk(.drafts(pending, firstIndex: handedOver), knownUnused: unused))
        }
        handedOver += pending.count
        pending.removeAll(keepingCapacity: true)
    }

    /// `drafts`, the first of which is the request's draft `firstIndex`, validated and prepared.
    static func prepare(_ drafts: [EventDraft], from firstIndex: Int, by options: EventLogOptions, now: Date) throws
        -> [PreparedEvent]
    {
        try EventDraft.validate(drafts, from: firstIndex, against: options, now: now)
        return drafts.map(PreparedEvent.init)
    }
}
