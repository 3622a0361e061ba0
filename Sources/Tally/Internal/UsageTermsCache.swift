import Billing
import Projections
import ReadModels
import Synchronization

/// Each organization's subscription and plan as the last usage decision read them, kept for
/// the next one while neither read model changes. Looking them up again for every batch (a
/// read, a hash of the stored bytes, copies of two large records) was a sixth of deciding a
/// batch of usage from 500 organizations.
///
/// The terms are kept under the stamp of the `subscriptions` and `catalog` read models that
/// the decision read them under (`ProjectionSet.stamp(of:seenBy:)`), and given to the next
/// decision only if it reads them under the same stamp: any commit that folded an event into
/// either, in this process or another, changes it.
final class UsageTermsCache: Sendable {
    struct Terms {
        var organizations: [String: OrganizationTerms] = [:]
        /// Plans by ID: organizations mostly share a few.
        var plans: [String: Plan] = [:]
    }

    /// Past this many organizations the terms are not kept: memory stays bounded however many
    /// organizations report usage.
    static let maximumOrganizations = 16_384
    static let readModels = [SubscriptionsProjector.name, CatalogProjector.name]

    /// An organization's subscription and its plan, in one box: a dictionary lookup then
    /// retains one reference instead of copying two records of many fields.
    final class OrganizationTerms: Sendable {
        let record: SubscriptionRecord
        let plan: Plan

        init(_ record: SubscriptionRecord, _ plan: Plan) {
            self.record = record
            self.plan = plan
        }
    }

    private let kept = Mutex<(stamp: ReadModelStamp, terms: Terms)?>(nil)

    /// The terms kept under `stamp`, taken out: a decision owns them until it keeps them again.
    /// Empty if none were kept under that stamp, or `stamp` is nil.
    func take(under stamp: ReadModelStamp?) -> Terms {
        kept.withLock { kept in
            defer { kept = nil }
            guard let stamp, let current = kept, current.stamp == stamp else { return Terms() }
            return current.terms
        }
    }

    /// Keeps `terms`, read under `stamp`, for the next decision.
    func keep(_ terms: Terms, under stamp: ReadModelStamp?) {
        guard let stamp, terms.organizations.count <= Self.maximumOrganizations else { return }
        kept.withLock { $0 = (stamp, terms) }
    }
}
