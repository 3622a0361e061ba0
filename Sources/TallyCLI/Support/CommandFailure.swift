import ArgumentParser
import Foundation

/// Prints a one-line error to standard error and exits with `code`: no stack trace, ever.
func fail(_ message: String, code: Int32 = 2) -> ExitCode {
    FileHandle.standardError.write(Data("tally: \(message)\n".utf8))
    return ExitCode(code)
}
