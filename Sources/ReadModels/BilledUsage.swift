import Foundation

/// The usage an issued invoice billed for one period of a subscription, per metric, kept
/// so usage that arrives after the invoice was finalized can be billed as a difference on a
/// later invoice. A metric missing from `quantities` was billed nothing.
public struct BilledUsage: Sendable, Hashable, Codable {
    public var planID: String
    /// The period, as seconds since 1970.
    public var periodStart: Int64
    public var periodEnd: Int64
    public var quantities: [String: Int64]
}
