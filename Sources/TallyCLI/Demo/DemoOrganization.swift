import Billing
import Foundation

/// One simulated customer: when it signs up and how it behaves, all drawn from the seed.
struct DemoOrganization {
    let index: Int
    let id: String
    let name: String
    let signup: Date
    /// Seats: how many users it has.
    let users: Int
    /// Scales its API traffic.
    let intensity: Int64
    let hasCard: Bool
    /// The card on file: mostly good, sometimes one that declines (Stripe's test cards).
    let card: String
    let firstPlan: String
    let interval: BillingInterval
    /// An enterprise contract at signup (quarterly, negotiated price).
    let hasContract: Bool

    static let names = [
        "Acme", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay", "Stark", "Wayne", "Wonka", "Tyrell", "Cyberdyne",
        "Soylent",
        "Aperture", "Gringotts", "Monarch", "Oscorp", "Pied Piper", "Dunder", "Sterling", "Prestige",
    ]
    static let countries = ["US-CA", "US-NY", "US-TX", "DE", "FR", "GB", "NL", "SE", "JP", "CA", "AU", "BR"]

    init(index: Int, seed: UInt64, start: Date, signupWindow: TimeInterval) {
        var random = DemoRandom(seed, index, -1)
        self.index = index
        id = "org_\(String(index).leftPadded(to: 4))"
        name =
            "\(Self.names[index % Self.names.count]) \(["Labs", "Inc", "GmbH", "Systems", "Cloud", "Analytics"][Int(random.next() % 6)]) \(index)"
        // Earlier signups are likelier: a business that has been growing.
        let position = Double.random(in: 0..<1, using: &random).squareRoot()
        signup = start.addingTimeInterval(
            (position * signupWindow / 86_400).rounded(.down) * 86_400 + Double(random.next() % 36_000) + 28_800)
        let size = random.next() % 10
        users =
            size < 6
            ? Int(2 + random.next() % 6) : size < 9 ? Int(8 + random.next() % 20) : Int(30 + random.next() % 60)
        intensity = Int64(1 + random.next() % 8)
        hasCard = random.chance(0.75)
        let cardDraw = random.next() % 100
        card =
            cardDraw < 4
            ? "pm_card_chargeDeclinedInsufficientFunds"
            : cardDraw < 7
                ? "pm_card_chargeDeclined" : cardDraw < 8 ? "pm_card_chargeDeclinedExpiredCard" : "pm_card_visa"
        let draw = random.next() % 100
        firstPlan = draw < 45 ? "free" : draw < 90 ? "professional" : "enterprise"
        interval = firstPlan != "free" && random.chance(0.2) ? .annual : .monthly
        hasContract = firstPlan == "enterprise" && random.chance(0.5)
    }

    var country: String { Self.countries[index % Self.countries.count] }
}

extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
