public import Foundation

/// Executables SwiftPM built next to the test bundle (the `tally` tool, the test probe).
public enum BuiltProducts {
    public static func executable(_ name: String) -> URL {
        let bundleDirectory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for directory in [bundleDirectory, Bundle.main.bundleURL, Bundle.main.bundleURL.deletingLastPathComponent()] {
            let candidate = directory.appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        fatalError("\(name) was not built next to the tests (looked in \(bundleDirectory.path))")
    }
}
