/// How a quantity of a metric becomes an amount. Prices are in major units of the currency
/// (`0.0015` USD per API call); only the final amount is rounded to the minor unit.
///
/// | model | 1,001 units with tiers ≤1,000 at 0.10, then 0.05 |
/// | --- | --- |
/// | `graduated` | 1,000 × 0.10 + 1 × 0.05 = 100.05 (each unit at its own tier's price) |
/// | `volume` | 1,001 × 0.05 = 50.05 (every unit at the price of the tier the total reaches) |
///
/// Tier bounds are inclusive, as Stripe's `up_to`. A quantity of zero costs nothing in every
/// model (no tier's flat fee applies without units).
public enum PriceModel: Sendable, Hashable, Codable {
    /// Every unit at `unitPrice`.
    case perUnit(unitPrice: ExactDecimal)
    /// Units fill the tiers in order; each unit costs its tier's price, and each tier that
    /// holds at least one unit adds its flat fee.
    case graduated([PriceTier])
    /// All units cost the price of the tier the total quantity falls in, plus that tier's flat fee.
    case volume([PriceTier])
    /// Per started block of `size` units: 1,001 units in blocks of 1,000 are two blocks.
    case package(size: Int64, price: ExactDecimal)

    /// Throws the first rule the model breaks: negative prices, unordered or unbounded-too-early
    /// tiers, a last tier with a bound, an empty tier list, or a block size below 1.
    public func validate(field: String = "price") throws(BillingError) {
        switch self {
        case .perUnit(let price):
            guard !price.isNegative else {
                throw .invalid(field: "\(field).unit_price", rule: "must not be negative, got \(price)")
            }
        case .graduated(let tiers), .volume(let tiers):
            guard !tiers.isEmpty else { throw .invalid(field: "\(field).tiers", rule: "must have at least one tier") }
            var previous: Int64 = 0
            for (index, tier) in tiers.enumerated() {
                let isLast = index == tiers.count - 1
                guard !tier.unitPrice.isNegative, !tier.flatFee.isNegative else {
                    throw .invalid(field: "\(field).tiers[\(index)]", rule: "prices and flat fees must not be negative")
                }
                if isLast {
                    guard tier.upTo == nil else {
                        throw .invalid(
                            field: "\(field).tiers[\(index)].up_to", rule: "the last tier must have no upper bound")
                    }
                } else {
                    guard let upTo = tier.upTo, upTo > previous else {
                        throw .invalid(
                            field: "\(field).tiers[\(index)].up_to",
                            rule:
                                "must be set and greater than the previous tier's (\(previous)) on every tier but the last"
                        )
                    }
                    previous = upTo
                }
            }
        case .package(let size, let price):
            guard size >= 1 else {
                throw .invalid(field: "\(field).package_size", rule: "must be at least 1, got \(size)")
            }
            guard !price.isNegative else {
                throw .invalid(field: "\(field).package_price", rule: "must not be negative, got \(price)")
            }
        }
    }

    /// The exact amount, in major units, for `quantity`.
    public func exactAmount(for quantity: Int64) throws(BillingError) -> ExactDecimal {
        guard quantity >= 0 else { throw .invalid(field: "quantity", rule: "must not be negative, got \(quantity)") }
        try validate()
        guard quantity > 0 else { return .zero }
        switch self {
        case .perUnit(let price):
            return try price.multiplied(by: ExactDecimal(quantity))
        case .graduated(let tiers):
            var total = ExactDecimal.zero
            var lowerBound: Int64 = 0
            for tier in tiers where quantity > lowerBound {
                let upper = min(quantity, tier.upTo ?? .max)
                total = try total.adding(tier.unitPrice.multiplied(by: ExactDecimal(upper - lowerBound))).adding(
                    tier.flatFee)
                lowerBound = upper
            }
            return total
        case .volume(let tiers):
            let tier = tiers.first { quantity <= ($0.upTo ?? .max) }!  // the last tier is unbounded
            return try tier.unitPrice.multiplied(by: ExactDecimal(quantity)).adding(tier.flatFee)
        case .package(let size, let price):
            let blocks = quantity / size + (quantity % size == 0 ? 0 : 1)
            return try price.multiplied(by: ExactDecimal(blocks))
        }
    }

    /// The amount for `quantity`, rounded once to the currency's minor unit with `mode`.
    public func amount(for quantity: Int64, currency: Currency, _ mode: RoundingMode = .halfUp) throws(BillingError)
        -> Money
    {
        try Money(rounding: exactAmount(for: quantity), currency: currency, mode)
    }
}
