/// Which projectors' read models changed, as far as this process can tell, so that a caller
/// can keep what it read of them from one transaction to the next (the usage decisions keep
/// each organization's subscription and plan) and know when to read again.
///
/// Each projector has a generation, raised when a commit of this process wrote it. Commits
/// arrive in LMDB's order, numbered one after another by whoever makes them, so a commit
/// whose number does not follow the last one seen here means someone else wrote in between:
/// another process, or a write that bypassed the append path (a rebuild, a swap). What they
/// wrote is unknown, so the epoch goes up, which changes every stamp.
struct ReadModelChanges {
    private var epoch: UInt64 = 0
    private var generations: [UInt64]
    /// The last commit seen (LMDB's transaction number), nil until the first.
    private var lastSeen: UInt64?
    /// The commit under way: its number and the projectors it writes (bit i: projector i).
    private var committing: (lmdbID: UInt64, written: UInt64)?

    init(projectors: Int) {
        generations = Array(repeating: 0, count: projectors)
    }

    /// The stamp of the projectors in `mask` as a transaction sees them that reads what
    /// commit `snapshot` left.
    mutating func stamp(of mask: UInt64, snapshot: UInt64) -> ReadModelStamp {
        see(snapshot)
        var generation: UInt64 = 0
        for index in generations.indices where mask & 1 << UInt64(index) != 0 { generation &+= generations[index] }
        return ReadModelStamp(epoch: epoch, generation: generation)
    }

    /// The transaction numbered `lmdbID` is about to commit, having written the projectors in `written`.
    mutating func willCommit(lmdbID: UInt64, written: UInt64) {
        committing = (lmdbID, written)
    }

    /// Commit `lmdbID` is in: its projectors' generations go up (all of them, when this process
    /// did not see what it wrote).
    mutating func didCommit(lmdbID: UInt64) {
        see(lmdbID &- 1)
        if let committing, committing.lmdbID == lmdbID {
            for index in generations.indices where committing.written & 1 << UInt64(index) != 0 {
                generations[index] &+= 1
            }
        } else {
            epoch &+= 1
        }
        committing = nil
        lastSeen = lmdbID
    }

    /// Everything through commit `lmdbID` is known here, or else the epoch goes up.
    private mutating func see(_ lmdbID: UInt64) {
        guard lastSeen != lmdbID else { return }
        epoch &+= 1
        lastSeen = lmdbID
    }
}
