/// An exact base-10 number: `significand × 10^-scale`, for unit prices and rates.
///
/// Parsed from strings such as `"0.0015"`, never from floating point. Sums and products are
/// exact (or throw on overflow); only `rounded(toScale:_:)` loses digits, with a named mode.
///
/// ```swift
/// let unitPrice = try ExactDecimal("0.0015")
/// let amount = try unitPrice.multiplied(by: ExactDecimal(1_234_567))   // 1851.8505, exact
/// let cents = try amount.rounded(toScale: 2, .halfUp)                  // 1851.85
/// ```
public struct ExactDecimal: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    public private(set) var significand: Int128
    /// Digits after the decimal point, 0 to `maximumScale`.
    public private(set) var scale: Int

    /// The most decimal places a value may carry.
    public static let maximumScale = 36
    /// The most significant digits a parsed value may have (Int128 holds 38 safely).
    public static let maximumDigits = 38

    public static let zero = ExactDecimal(0)

    public init(_ integer: Int64) {
        significand = Int128(integer)
        scale = 0
    }

    init(significand: Int128, scale: Int) {
        self.significand = significand
        self.scale = scale
    }

    /// Parses `-?DIGITS(.DIGITS)?`: no exponent, no grouping, no spaces, no leading `+` or `.`.
    /// - Throws: `BillingError.invalid` naming `field` and the rule.
    public init(_ text: String, field: String = "decimal") throws(BillingError) {
        var digits = Substring(text)
        let negative = digits.first == "-"
        if negative { digits = digits.dropFirst() }
        let parts = digits.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        let isDigits = { (part: Substring) in
            !part.isEmpty && part.utf8.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
        }
        guard let whole = parts.first, isDigits(whole), parts.count == 1 || isDigits(parts[1]) else {
            throw .invalid(
                field: field,
                rule:
                    "must be a decimal number such as 12, 0.5 or -3.25 (no exponent, spaces or grouping), got \"\(text.prefix(60))\""
            )
        }
        let fraction = parts.count == 2 ? parts[1] : ""
        let significantDigits = (whole + fraction).drop { $0 == "0" }.count
        guard significantDigits <= Self.maximumDigits, fraction.count <= Self.maximumScale else {
            throw .invalid(
                field: field,
                rule:
                    "must have at most \(Self.maximumDigits) significant digits and \(Self.maximumScale) decimal places, got \"\(text.prefix(60))\""
            )
        }
        var value: Int128 = 0
        for byte in (whole + fraction).utf8 {
            value = value * 10 + Int128(byte - UInt8(ascii: "0"))
        }
        significand = negative ? -value : value
        scale = fraction.count
    }

    public var isNegative: Bool { significand < 0 }
    public var isZero: Bool { significand == 0 }

    // MARK: Arithmetic (exact)

    public func adding(_ other: ExactDecimal) throws(BillingError) -> ExactDecimal {
        let (left, right, scale) = try Self.aligned(self, other)
        let (sum, overflow) = left.addingReportingOverflow(right)
        guard !overflow else { throw .overflow("\(self) + \(other)") }
        return ExactDecimal(significand: sum, scale: scale)
    }

    public func subtracting(_ other: ExactDecimal) throws(BillingError) -> ExactDecimal {
        try adding(ExactDecimal(significand: -other.significand, scale: other.scale))
    }

    public func multiplied(by other: ExactDecimal) throws(BillingError) -> ExactDecimal {
        let (product, overflow) = significand.multipliedReportingOverflow(by: other.significand)
        guard !overflow, scale + other.scale <= Self.maximumScale else { throw .overflow("\(self) × \(other)") }
        return ExactDecimal(significand: product, scale: scale + other.scale)
    }

    /// This value rounded to `newScale` decimal places with `mode`. Exact when it already
    /// has no more places than that.
    public func rounded(toScale newScale: Int, _ mode: RoundingMode) throws(BillingError) -> ExactDecimal {
        precondition((0...Self.maximumScale).contains(newScale), "scale out of range")
        if newScale >= scale {
            let (widened, overflow) = significand.multipliedReportingOverflow(by: Self.powerOfTen(newScale - scale))
            guard !overflow else { throw .overflow("\(self) at scale \(newScale)") }
            return ExactDecimal(significand: widened, scale: newScale)
        }
        return ExactDecimal(
            significand: mode.divide(significand, by: Self.powerOfTen(scale - newScale)), scale: newScale)
    }

    // MARK: Comparison and text

    public static func < (lhs: ExactDecimal, rhs: ExactDecimal) -> Bool {
        guard let (left, right, _) = try? aligned(lhs, rhs) else {
            return lhs.significand.signum() < rhs.significand.signum()  // unreachable within limits
        }
        return left < right
    }

    public static func == (lhs: ExactDecimal, rhs: ExactDecimal) -> Bool {
        lhs.normalized.significand == rhs.normalized.significand && lhs.normalized.scale == rhs.normalized.scale
    }

    public func hash(into hasher: inout Hasher) {
        let normal = normalized
        hasher.combine(normal.significand)
        hasher.combine(normal.scale)
    }

    /// The same value without trailing zeros after the point.
    var normalized: ExactDecimal {
        var result = self
        while result.scale > 0 && result.significand % 10 == 0 {
            result.significand /= 10
            result.scale -= 1
        }
        return result
    }

    /// Plain decimal notation, keeping the scale: "1.50", "-0.0015", "12".
    public var description: String {
        let digits = String(significand.magnitude)
        let sign = significand < 0 ? "-" : ""
        guard scale > 0 else { return sign + digits }
        let padded = String(repeating: "0", count: max(0, scale + 1 - digits.count)) + digits
        return sign + padded.dropLast(scale) + "." + padded.suffix(scale)
    }

    // MARK: Codable, as a string, so no JSON reader ever turns it into a Double.

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        try self.init(text)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    // MARK: Helpers

    static func powerOfTen(_ exponent: Int) -> Int128 {
        var result: Int128 = 1
        for _ in 0..<exponent { result *= 10 }
        return result
    }

    /// Both significands at the larger scale.
    private static func aligned(_ a: ExactDecimal, _ b: ExactDecimal) throws(BillingError) -> (Int128, Int128, Int) {
        let scale = max(a.scale, b.scale)
        let (left, leftOverflow) = a.significand.multipliedReportingOverflow(by: powerOfTen(scale - a.scale))
        let (right, rightOverflow) = b.significand.multipliedReportingOverflow(by: powerOfTen(scale - b.scale))
        guard !leftOverflow, !rightOverflow else { throw .overflow("aligning \(a) and \(b)") }
        return (left, right, scale)
    }
}
