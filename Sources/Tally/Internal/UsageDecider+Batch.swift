import EventLog
import Projections

extension UsageDecider {
    /// What a batch of usage became: the drafts to append and, per record in order, its outcome.
    struct Decided: Sendable {
        var drafts: [EventDraft] = []
        var outcomes: [Outcome] = []
    }

    /// Below this many records a batch is decided on the writer thread and then appended:
    /// streaming it from a helper thread costs more than it saves.
    static let smallestStreamedBatch = 64

    /// Decides `batch`, one record after another.
    static func decide(
        batch: [UsageRecord], in decision: borrowing AppendDecision, projections: ProjectionSet,
        termsCache: UsageTermsCache
    ) throws -> Decided {
        var decider = try UsageDecider(decision, projections: projections, termsCache: termsCache, records: batch.count)
        for usage in batch { try decider.decide(usage, decision) }
        termsCache.keep(decider.terms, under: decider.termsStamp)
        return Decided(drafts: decider.drafts, outcomes: decider.outcomes)
    }

    /// Decides `batch` like `decide(batch:in:projections:)`, emitting each record's events
    /// into `sink` as soon as it is decided, so that the writer appends them while the next
    /// records are decided (`EventLog.append(streaming:)`); returns the outcomes.
    static func decide(
        batch: [UsageRecord], in decision: borrowing AppendDecision, projections: ProjectionSet,
        termsCache: UsageTermsCache,
        emittingTo sink: DraftSink
    ) throws -> [Outcome] {
        var decider = try UsageDecider(decision, projections: projections, termsCache: termsCache, records: batch.count)
        var emitted = 0
        for usage in batch {
            try decider.decide(usage, decision)
            while emitted < decider.drafts.count {
                try sink.emit(decider.drafts[emitted])
                emitted += 1
            }
        }
        termsCache.keep(decider.terms, under: decider.termsStamp)
        return decider.outcomes
    }
}
