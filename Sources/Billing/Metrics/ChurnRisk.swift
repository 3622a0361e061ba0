/// An organization's churn-risk score, 0 to 100: the sum of seven signals' points, each
/// capped at its weight, so the score always explains itself (docs/METRICS.md has the table).
/// Integer arithmetic only: the same observations always give the same score.
public struct ChurnRisk: Sendable, Hashable {
    /// What was observed about an organization at one moment.
    public struct Observations: Sendable, Hashable {
        /// Usage events in the last 7 days, and in the 28 days before them.
        public var recentActivity: Int64 = 0
        public var baselineActivity: Int64 = 0
        /// Distinct users seen in the last 14 days, and in the 14 days before them.
        public var recentUsers: Int64 = 0
        public var earlierUsers: Int64 = 0
        /// Past due, in grace or unpaid now.
        public var inDunning = false
        /// Failed payment attempts in the last 90 days.
        public var recentFailedPayments: Int64 = 0
        /// Days since the last downgrade (an MRR contraction), if any in the last 90 days.
        public var daysSinceDowngrade: Int?
        /// A move to a cheaper plan waits for the period's end.
        public var downgradeScheduled = false
        /// Days until a scheduled cancellation takes effect; nil when none is scheduled.
        public var daysUntilCancellation: Int?
        /// Metrics used in the last 30 days, of those the plan meters.
        public var metricsUsed = 0
        public var metricsAvailable = 0
        /// Days since the organization first paid; nil while it never has (a trial).
        public var tenureDays: Int?

        public init() {}
    }

    /// One signal's share of the score.
    public struct Signal: Sendable, Hashable {
        public enum Name: String, Sendable, CaseIterable {
            case usageDecline = "usage_decline"
            case paymentFailures = "payment_failures"
            case downgrades
            case activeUsersDrop = "active_users_drop"
            case cancellationScheduled = "cancellation_scheduled"
            case lowFeatureAdoption = "low_feature_adoption"
            case shortTenure = "short_tenure"

            /// The most points the signal can give; the weights add up to 100.
            public var weight: Int {
                switch self {
                case .usageDecline: 20
                case .paymentFailures: 20
                case .downgrades: 15
                case .activeUsersDrop: 15
                case .cancellationScheduled: 20
                case .lowFeatureAdoption: 5
                case .shortTenure: 5
                }
            }
        }

        public var name: Name
        public var points: Int
        /// What was seen, in words a customer-success manager can check.
        public var detail: String
    }

    public let score: Int
    /// Every signal, strongest first (ties in the table's order).
    public let signals: [Signal]

    public init(_ seen: Observations) {
        var signals: [Signal] = []
        func add(_ name: Signal.Name, _ points: Int, _ detail: String) {
            signals.append(Signal(name: name, points: min(max(points, 0), name.weight), detail: detail))
        }
        // Usage: the last week against the weekly average of the four weeks before.
        let weeklyBaseline = seen.baselineActivity / 4
        let decline = Self.percentDrop(from: weeklyBaseline, to: seen.recentActivity)
        add(
            .usageDecline, Self.scale(decline, from: 10, to: 60, weight: Signal.Name.usageDecline.weight),
            "\(seen.recentActivity) usage events in the last 7 days against \(weeklyBaseline) a week before (\(Self.signed(-decline))%)"
        )
        if seen.inDunning {
            add(
                .paymentFailures, 20,
                "in dunning now (past due, grace or unpaid); \(seen.recentFailedPayments) failed attempts in 90 days")
        } else {
            add(
                .paymentFailures, Int(min(seen.recentFailedPayments, 2)) * 8,
                "\(seen.recentFailedPayments) failed payment attempts in the last 90 days")
        }
        if seen.downgradeScheduled {
            add(.downgrades, 15, "a downgrade is scheduled for the period's end")
        } else if let days = seen.daysSinceDowngrade {
            add(.downgrades, days <= 30 ? 15 : 8, "downgraded \(days) days ago")
        } else {
            add(.downgrades, 0, "no downgrade in the last 90 days")
        }
        let usersDrop = Self.percentDrop(from: seen.earlierUsers, to: seen.recentUsers)
        add(
            .activeUsersDrop, Self.scale(usersDrop, from: 10, to: 50, weight: Signal.Name.activeUsersDrop.weight),
            "\(seen.recentUsers) active users in the last 14 days against \(seen.earlierUsers) in the 14 before (\(Self.signed(-usersDrop))%)"
        )
        if let days = seen.daysUntilCancellation {
            add(.cancellationScheduled, days <= 30 ? 20 : 12, "cancels at the period's end, in \(days) days")
        } else {
            add(.cancellationScheduled, 0, "no cancellation scheduled")
        }
        let adoption = seen.metricsAvailable > 0 ? seen.metricsUsed * 100 / seen.metricsAvailable : 100
        add(
            .lowFeatureAdoption, adoption < 25 ? 5 : adoption < 50 ? 3 : 0,
            "used \(seen.metricsUsed) of \(seen.metricsAvailable) metered features in the last 30 days")
        if let days = seen.tenureDays {
            add(.shortTenure, days < 90 ? 5 : days < 180 ? 3 : days < 365 ? 1 : 0, "paying for \(days) days")
        } else {
            add(.shortTenure, 5, "has not paid yet")
        }
        score = min(100, signals.reduce(0) { $0 + $1.points })
        let order = Signal.Name.allCases
        self.signals = signals.sorted {
            ($0.points, order.firstIndex(of: $1.name)!) > ($1.points, order.firstIndex(of: $0.name)!)
        }
    }

    /// How far `now` fell below `before`, in whole percent (0 when it did not fall or there was nothing before).
    static func percentDrop(from before: Int64, to now: Int64) -> Int {
        guard before > 0, now < before else { return 0 }
        return Int((before - now) * 100 / before)
    }

    /// 0 points up to `low` percent, `weight` from `high` on, linear between (rounded down).
    static func scale(_ percent: Int, from low: Int, to high: Int, weight: Int) -> Int {
        guard percent > low else { return 0 }
        return min(weight, (percent - low) * weight / (high - low))
    }

    static func signed(_ value: Int) -> String { value > 0 ? "+\(value)" : "\(value)" }
}
