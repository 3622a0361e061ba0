/// How an exact value is rounded to fewer decimal places. Every rounding in Tally names one.
///
/// | mode | 2.5 | 3.5 | -2.5 | 2.4 | 2.6 |
/// | --- | --- | --- | --- | --- | --- |
/// | `halfUp` | 3 | 4 | -3 | 2 | 3 |
/// | `halfEven` | 2 | 4 | -2 | 2 | 3 |
/// | `up` | 3 | 4 | -3 | 3 | 3 |
/// | `down` | 2 | 3 | -2 | 2 | 2 |
/// | `ceiling` | 3 | 4 | -2 | 3 | 3 |
/// | `floor` | 2 | 3 | -3 | 2 | 2 |
public enum RoundingMode: String, Sendable, Hashable, Codable, CaseIterable {
    /// To the nearest; ties away from zero ("commercial rounding"). Tally's default for
    /// invoice lines, proration and tax, as most billing systems do.
    case halfUp
    /// To the nearest; ties to the even neighbour ("banker's rounding").
    case halfEven
    /// Away from zero.
    case up
    /// Toward zero (truncation).
    case down
    /// Toward positive infinity.
    case ceiling
    /// Toward negative infinity.
    case floor

    /// `numerator / denominator` rounded to an integer with this mode. `denominator` > 0.
    func divide(_ numerator: Int128, by denominator: Int128) -> Int128 {
        precondition(denominator > 0, "rounded division needs a positive denominator")
        let quotient = numerator / denominator  // truncates toward zero
        let remainder = numerator % denominator  // same sign as numerator
        guard remainder != 0 else { return quotient }
        let awayFromZero: Int128 = numerator < 0 ? -1 : 1
        let twiceRemainder = remainder.magnitude * 2
        let roundsAway: Bool
        switch self {
        case .halfUp: roundsAway = twiceRemainder >= denominator.magnitude
        case .halfEven:
            roundsAway =
                twiceRemainder > denominator.magnitude || (twiceRemainder == denominator.magnitude && quotient % 2 != 0)
        case .up: roundsAway = true
        case .down: roundsAway = false
        case .ceiling: roundsAway = numerator > 0
        case .floor: roundsAway = numerator < 0
        }
        return roundsAway ? quotient + awayFromZero : quotient
    }
}
