import Foundation

/// A fresh directory under the system temp folder, removed when the value is released.
final class TemporaryDirectory: Sendable {
    let path: String

    init(_ label: String = "tally-test") {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(label)-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        path = url.path
    }

    func subdirectory(_ name: String) -> String {
        path + "/" + name
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }
}
