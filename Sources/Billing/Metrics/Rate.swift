/// A ratio kept exact as two integers, shown as a percentage rounded half up: churn and
/// retention rates never pass through floating point. Undefined (nil percentage) when the
/// denominator is zero, such as a churn rate for a month that began with no customers.
public struct Rate: Sendable, Hashable, Codable {
    public let numerator: Int64
    public let denominator: Int64

    public init(_ numerator: Int64, over denominator: Int64) {
        self.numerator = numerator
        self.denominator = denominator
    }

    /// The percentage with `decimals` places ("12.50" for 1 over 8), or nil when undefined.
    public func percent(decimals: Int = 2) -> ExactDecimal? {
        guard denominator != 0 else { return nil }
        var scale: Int128 = 100
        for _ in 0..<decimals { scale *= 10 }
        let sign: Int128 = denominator < 0 ? -1 : 1
        let scaled = RoundingMode.halfUp.divide(Int128(numerator) * scale * sign, by: Int128(denominator) * sign)
        return try? ExactDecimal(Self.decimalText(scaled, decimals: decimals))
    }

    static func decimalText(_ value: Int128, decimals: Int) -> String {
        let digits = String(value.magnitude)
        let padded = String(repeating: "0", count: max(0, decimals + 1 - digits.count)) + digits
        let cut = padded.index(padded.endIndex, offsetBy: -decimals)
        let text = decimals == 0 ? padded : padded[..<cut] + "." + padded[cut...]
        return (value < 0 ? "-" : "") + text
    }
}
