/// One tier of a graduated or volume price: units up to and including `upTo` (nil: no upper
/// bound) cost `unitPrice` each, plus `flatFee` once when the tier applies.
public struct PriceTier: Sendable, Hashable, Codable {
    public var upTo: Int64?
    public var unitPrice: ExactDecimal
    public var flatFee: ExactDecimal

    public init(upTo: Int64?, unitPrice: ExactDecimal, flatFee: ExactDecimal = .zero) {
        self.upTo = upTo
        self.unitPrice = unitPrice
        self.flatFee = flatFee
    }
}
