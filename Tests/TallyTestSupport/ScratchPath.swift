import Foundation

/// A path, not yet created, for a test that hands it to something else (a `tally` process,
/// an LMDB environment) instead of holding a `TemporaryDirectory`. Every such path lies in one
/// folder per test process, removed when the process exits, so runs leave nothing in /tmp.
public enum ScratchPath {
    public static func make(_ label: String) -> String {
        root + "/\(label)-\(UUID().uuidString)"
    }

    /// The folder of this process, created (and its removal at exit registered) on first use.
    private static let root: String = {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("tally-tests-\(UUID().uuidString)")
            .path
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        atexit { try? FileManager.default.removeItem(atPath: ScratchPath.root) }
        return path
    }()
}
