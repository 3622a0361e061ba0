import Foundation
import TallyTestSupport

/// Runs the built `tally` binary, as a user would, and captures what it says.
enum TallyProcess {
    struct Run {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static var executable: URL { BuiltProducts.executable("tally") }

    static func run(_ arguments: [String]) throws -> Run {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        // Standard error goes to a file, so a chatty child can never block on a full pipe
        // while we read its standard output.
        let errorsPath = temporaryPath() + ".stderr"
        _ = FileManager.default.createFile(atPath: errorsPath, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: errorsPath) }
        let errors = try FileHandle(forWritingTo: URL(fileURLWithPath: errorsPath))
        let output = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let stdout = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        try errors.close()
        let stderr = FileManager.default.contents(atPath: errorsPath) ?? Data()
        return Run(
            status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
            stderr: String(decoding: stderr, as: UTF8.self))
    }

    static func temporaryPath() -> String {
        ScratchPath.make("cli")
    }
}
