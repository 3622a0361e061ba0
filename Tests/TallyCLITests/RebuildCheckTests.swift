import Foundation
import LMDB
import TallyTestSupport
import Testing

/// `tally rebuild --check` fails, naming the database, when a read model kept incrementally
/// is not what the log folds to.
@Suite("tally rebuild --check")
struct RebuildCheckTests {
    @Test func aCellWrittenBehindTheEnginesBackIsFound() throws {
        let data = TallyProcess.temporaryPath()
        let demo = try TallyProcess.run([
            "demo", "--data", data, "--organizations", "5", "--months", "2", "--seed", "3",
        ])
        try #require(demo.status == 0, "\(demo.stderr)")
        do {
            // Into both slots of the daily usage rollups, so the live one has it whichever it is.
            let environment = try Environment.open(at: data)
            // each opens in its own transaction
            let slots = try ["a", "b"].map { try environment.database(named: "rm.usage_rollups.\($0).daily") }
            try environment.write { txn in
                for slot in slots { try txn.put([1, 2, 3], forKey: Array("zz_tampered".utf8), in: slot) }
            }
        }
        let run = try TallyProcess.run(["rebuild", "--check", "--data", data])
        #expect(run.status == 1)
        #expect(
            run.stderr.contains(
                "--check: the rebuild differs from the read models kept incrementally in usage_rollups.daily"),
            "\(run.stderr)")
        // The rebuild itself went through: a second check finds nothing.
        #expect(try TallyProcess.run(["rebuild", "--check", "--data", data]).status == 0)
    }
}
