import Foundation
import TallyTestSupport
import Testing

/// `tally demo`, run as a user runs it.
@Suite("tally demo")
struct DemoCommandTests {
    /// The part of a summary that depends only on the history, not on when it was recorded.
    static func history(_ summary: String) -> String {
        let lines = summary.split(separator: "\n", omittingEmptySubsequences: false)
        guard let from = lines.firstIndex(where: { $0.hasPrefix("Events by type") }),
            let to = lines.firstIndex(where: { $0.hasPrefix("Head ") })
        else { return "" }
        return lines[from..<to].joined(separator: "\n")
    }

    @Test(
        "a small demo: a whole SaaS history, summarized, that tally verify accepts; the same seed gives the same history"
    )
    func smallDemo() throws {
        let first = TallyProcess.temporaryPath()
        let second = TallyProcess.temporaryPath()
        defer {
            try? FileManager.default.removeItem(atPath: first)
            try? FileManager.default.removeItem(atPath: second)
        }
        let run = try TallyProcess.run([
            "demo", "--data", first, "--organizations", "30", "--months", "3", "--seed", "7",
        ])
        #expect(run.status == 0, "\(run.stderr)")
        for section in [
            "Events by type", "Subscriptions by status and plan", "Quotas in the current period", "Top API usage",
            "Invoices", "Traffic", "Head ",
        ] {
            #expect(run.stdout.contains(section), "missing \(section)")
        }
        for type in [
            "organization.registered", "subscription.trial_started", "subscription.renewed", "usage.recorded",
            "plan.defined", "invoice.issued", "payment.succeeded",
        ] {
            #expect(run.stdout.contains(type), "no \(type) in the history")
        }
        let verify = try TallyProcess.run(["verify", "--data", first])
        #expect(verify.status == 0, "\(verify.stderr)")

        let again = try TallyProcess.run([
            "demo", "--data", second, "--organizations", "30", "--months", "3", "--seed", "7",
        ])
        #expect(again.status == 0)
        #expect(!Self.history(run.stdout).isEmpty)
        #expect(Self.history(again.stdout) == Self.history(run.stdout))
    }

    @Test("bad input: one line on stderr, a non-zero exit, nothing written")
    func badInput() throws {
        let path = TallyProcess.temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: path) }
        for arguments in [["--organizations", "0"], ["--months", "61"], ["--seed", "minus-one"], ["--bogus"]] {
            let run = try TallyProcess.run(["demo", "--data", path] + arguments)
            #expect(run.status != 0, "\(arguments)")
            #expect(!run.stderr.isEmpty && !run.stderr.contains("Fatal error"), "\(arguments): \(run.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: path + "/data.mdb"))
        // A directory that already holds a log is refused rather than mixed into.
        _ = try TallyProcess.run(["demo", "--data", path, "--organizations", "2", "--months", "1"])
        let again = try TallyProcess.run(["demo", "--data", path, "--organizations", "2", "--months", "1"])
        #expect(again.status == 2)
        #expect(again.stderr.contains("already holds a log"))
        let replaced = try TallyProcess.run([
            "demo", "--data", path, "--organizations", "2", "--months", "1", "--replace",
        ])
        #expect(replaced.status == 0, "\(replaced.stderr)")
    }

    @Test("demo --help explains the command with an example")
    func help() throws {
        let run = try TallyProcess.run(["demo", "--help"])
        #expect(run.status == 0)
        #expect(
            run.stdout.contains("Example:") && run.stdout.contains("--organizations") && run.stdout.contains("--months")
        )
    }
}
