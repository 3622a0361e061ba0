import Testing

@testable import Projections

/// `ReadModelChanges`: a stamp stays the same only while no commit wrote the read models it
/// covers, and any commit this process did not see changes every stamp.
@Suite("ReadModelChanges: stamps change with every write this process cannot vouch for")
struct ReadModelChangesTests {
    // Projectors 0, 1 and 2; stamps of 0 and 1 together (mask 0b011).
    let both: UInt64 = 0b011

    @Test("a commit that wrote other projectors keeps the stamp; one that wrote either changes it")
    func ownCommits() {
        var changes = ReadModelChanges(projectors: 3)
        let first = changes.stamp(of: both, snapshot: 10)
        #expect(changes.stamp(of: both, snapshot: 10) == first)
        changes.willCommit(lmdbID: 11, written: 0b100)
        changes.didCommit(lmdbID: 11)
        let second = changes.stamp(of: both, snapshot: 11)
        #expect(second == first, "only projector 2 was written")
        changes.willCommit(lmdbID: 12, written: 0b010)
        changes.didCommit(lmdbID: 12)
        #expect(changes.stamp(of: both, snapshot: 12) != second)
        #expect(changes.stamp(of: 0b001, snapshot: 12) == changes.stamp(of: 0b001, snapshot: 12))
    }

    @Test("someone else's commit (a gap in the numbers) changes every stamp")
    func foreignCommits() {
        var changes = ReadModelChanges(projectors: 3)
        let first = changes.stamp(of: both, snapshot: 10)
        // Commit 11 was another process's: the next transaction reads what 11 left.
        let afterForeign = changes.stamp(of: both, snapshot: 11)
        #expect(afterForeign != first)
        // Our commit 13 follows a foreign 12 that no stamp saw.
        changes.willCommit(lmdbID: 13, written: 0)
        changes.didCommit(lmdbID: 13)
        #expect(changes.stamp(of: both, snapshot: 13) != afterForeign)
    }

    @Test("a commit announced but not the one that committed, or a reader of an older snapshot, changes every stamp")
    func unannouncedCommits() {
        var changes = ReadModelChanges(projectors: 3)
        let first = changes.stamp(of: both, snapshot: 20)
        changes.willCommit(lmdbID: 21, written: 0)  // aborted, or committed nothing
        changes.didCommit(lmdbID: 22)  // unseen: 21 by someone else, then ours without its writes known
        let second = changes.stamp(of: both, snapshot: 22)
        #expect(second != first)
        #expect(changes.stamp(of: both, snapshot: 21) != second, "an older snapshot")
    }
}
