/// The MRR movements of a span of time (a day, a month), per kind: amounts and how many
/// organizations moved. `net` is exactly the change in MRR over the span.
public struct MovementTotals: Sendable, Hashable, Codable {
    public private(set) var amounts: [MRRMovement.Kind: Int64] = [:]
    public private(set) var counts: [MRRMovement.Kind: Int64] = [:]

    public init() {}

    public mutating func add(_ movement: MRRMovement, count: Int64 = 1) {
        amounts[movement.kind, default: 0] += movement.amount
        counts[movement.kind, default: 0] += count
    }

    public mutating func add(_ other: MovementTotals) {
        for kind in MRRMovement.Kind.allCases {
            amounts[kind, default: 0] += other.amount(kind)
            counts[kind, default: 0] += other.count(kind)
        }
    }

    public func amount(_ kind: MRRMovement.Kind) -> Int64 { amounts[kind] ?? 0 }
    public func count(_ kind: MRRMovement.Kind) -> Int64 { counts[kind] ?? 0 }

    /// The change in MRR: the sum of every movement.
    public var net: Int64 { MRRMovement.Kind.allCases.reduce(0) { $0 + amount($1) } }

    /// The change in paying customers: those who started or came back, less those who left.
    public var netCustomers: Int64 { count(.newBusiness) + count(.reactivation) - count(.churn) }
}
