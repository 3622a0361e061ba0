import EventLog
import Projections

extension UsageDecider {
    /// What a batch of usage became: the drafts to append and, per record in order, its outcome.
    struct Decided: Sendable {
        var drafts: [EventDraft] = []
        var outcomes: [Outcome] = []
    }

    /// Below this many records a batch is decided on one thread: handing half of it to a
    /// helper thread costs more than deciding it.
    static let smallestSplitBatch = 64

    /// Decides `batch` exactly as one decider taking its records in order would, but in two
    /// halves split by organization, the second on another core when the decision allows
    /// (`AppendDecision.inParallel`).
    ///
    /// Sound because no record's outcome depends on another organization's records: counters,
    /// unique members, limit flags and idempotency keys are all kept per organization. Each
    /// half sees its organizations' records in their batch order, and the merge puts every
    /// record's drafts back in that order, so the events are the same, in the same order, as
    /// from one decider.
    static func decide(batch: [UsageRecord], in decision: borrowing AppendDecision, projections: ProjectionSet) throws -> Decided {
        let halves = batch.count >= smallestSplitBatch ? Self.halves(of: batch) : nil
        guard let halves else { return try inOrder(batch, batch.indices, decision, projections: projections) }
        let (first, second) = try decision.inParallel(
            { decision in try inOrder(batch, halves.indices[0], decision, projections: projections) },
            { decision in try inOrder(batch, halves.indices[1], decision, projections: projections) })
        return merge([first, second], halves: halves)
    }

    /// A batch's records in two halves by organization: each organization's records go to the
    /// half that had fewer records when its first one came, so both halves get about as many.
    /// Nil when every record belongs to one organization.
    static func halves(of batch: [UsageRecord]) -> Halves? {
        var halfOf: [String: Int] = [:]
        halfOf.reserveCapacity(batch.count)
        var halves = Halves()
        halves.halfOfRecord.reserveCapacity(batch.count)
        for (index, usage) in batch.enumerated() {
            let half: Int
            if let known = halfOf[usage.organizationID] {
                half = known
            } else {
                half = halves.indices[0].count <= halves.indices[1].count ? 0 : 1
                halfOf[usage.organizationID] = half
            }
            halves.indices[half].append(index)
            halves.halfOfRecord.append(half)
        }
        return halves.indices[1].isEmpty ? nil : halves
    }

    struct Halves: Sendable {
        /// Each half's records, by their places in the batch, in order.
        var indices: [[Int]] = [[], []]
        /// The half of each record of the batch.
        var halfOfRecord: [Int] = []
    }

    /// One decider taking the records of `batch` at `indices`, in order.
    private static func inOrder(
        _ batch: [UsageRecord], _ indices: some Collection<Int>, _ decision: borrowing AppendDecision, projections: ProjectionSet
    ) throws -> Decided {
        var decider = try UsageDecider(decision, projections: projections, records: indices.count)
        for index in indices { try decider.decide(batch[index], decision) }
        return Decided(drafts: decider.drafts, outcomes: decider.outcomes)
    }

    /// Both halves' results in the batch's order. A record appended as a half's draft `d`
    /// owns that half's drafts from `d` up to the next appended record's (its limit events).
    private static func merge(_ decided: [Decided], halves: Halves) -> Decided {
        let draftEnds = decided.map { half in
            var ends = [Int](repeating: half.drafts.count, count: half.outcomes.count)
            var next = half.drafts.count
            for position in half.outcomes.indices.reversed() {
                ends[position] = next
                if case .appended(let draft) = half.outcomes[position] { next = draft }
            }
            return ends
        }
        var merged = Decided()
        merged.drafts.reserveCapacity(decided[0].drafts.count + decided[1].drafts.count)
        merged.outcomes.reserveCapacity(halves.halfOfRecord.count)
        var positions = [0, 0]
        for half in halves.halfOfRecord {
            let position = positions[half]
            positions[half] += 1
            switch decided[half].outcomes[position] {
            case .appended(let draft):
                merged.outcomes.append(.appended(draft: merged.drafts.count))
                merged.drafts.append(contentsOf: decided[half].drafts[draft..<draftEnds[half][position]])
            case .sameAs(let record):
                merged.outcomes.append(.sameAs(record: halves.indices[half][record]))
            case let other:
                merged.outcomes.append(other)
            }
        }
        return merged
    }
}
