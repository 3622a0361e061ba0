import ArgumentParser
import Billing
import Foundation
import Tally
import TallyCommands

/// `tally risk [--top N] [--organization ID]`.
struct RiskCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "risk",
        abstract: "Churn-risk scores (0 to 100), riskiest first, with the signals behind each.",
        discussion: """
            Every organization with a live subscription, scored from seven signals, each worth
            at most its weight (docs/METRICS.md): usage decline against the trailing weeks (20),
            failed payments and dunning (20), downgrades (15), a drop in active users (15), a
            scheduled cancellation (20), low adoption of metered features (5), short tenure (5).
            The table lists the signals that scored; JSON lists all seven with points, weight
            and what was seen.

            Example:
              tally risk --top 10 --as-of 2026-06-30
            """)

    @OptionGroup var storage: DataDirectoryOptions
    @OptionGroup var query: QueryOptions
    @Option(help: "Only the N riskiest.") var top: Int?
    @Option(help: "Only this organization.") var organization: String?

    func run() async throws {
        if let top, top < 1 { throw fail("--top: expected at least 1, got \(top)") }
        let engine = try storage.openExistingEngine()
        let (view, now) = try query.view(of: engine)
        var risks: [OrganizationRisk]
        if let organization {
            guard let risk = try view.churnRisk(of: organization, at: now) else {
                throw fail("no subscription for \(organization)")
            }
            risks = [risk]
        } else {
            risks = try view.churnRisks(at: now)
        }
        if let top { risks = Array(risks.prefix(top)) }
        var output = QueryOutput(columns: ["organization_id", "score", "plan_id", "status", "mrr", "signals"])
        output.rows = risks.map { entry in
            let scored = entry.risk.signals.filter { $0.points > 0 }
            let cell =
                scored.isEmpty
                ? "none" : scored.map { "\($0.name.rawValue) \($0.points): \($0.detail)" }.joined(separator: "; ")
            let json =
                "["
                + entry.risk.signals.map { signal in
                    "{\"name\":\(OutputValue.quoted(signal.name.rawValue)),\"points\":\(signal.points),\"weight\":\(signal.name.weight),\"detail\":\(OutputValue.quoted(signal.detail))}"
                }.joined(separator: ",") + "]"
            return [
                .text(entry.organizationID), .integer(Int64(entry.risk.score)), .text(entry.planID),
                .text(entry.status),
                entry.mrr.map { .money($0) } ?? .none, .structured(cell: cell, json: json),
            ]
        }
        Swift.print(output.render(query.resolvedFormat), terminator: "")
    }
}
