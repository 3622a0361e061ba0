import Foundation

/// A real child process whose standard output the test reads line by line as it arrives.
final class ChildProcess: @unchecked Sendable {  // Used from one test at a time; lines are behind a lock.
    private let process = Process()
    private let output = Pipe()
    private let lock = NSLock()
    private var buffer = Data()
    private var completeLines: [String] = []
    private let finished = DispatchSemaphore(value: 0)

    init(_ executable: URL, _ arguments: [String]) throws {
        process.executableURL = executable
        process.arguments = arguments
        process.standardOutput = output
        process.standardError = FileHandle.standardError
        try process.run()
        // Our copy of the write end must go, or the reader would never see end of file.
        try? output.fileHandleForWriting.close()
        let reader = output.fileHandleForReading
        Thread.detachNewThread { [self] in
            while true {
                let data = reader.availableData  // blocks until output arrives or the child is gone
                if data.isEmpty { break }
                self.append(data)
            }
            self.finished.signal()
        }
    }

    private func append(_ data: Data) {
        lock.withLock {
            buffer.append(data)
            while let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                completeLines.append(String(decoding: buffer[buffer.startIndex..<newline], as: UTF8.self))
                buffer.removeSubrange(buffer.startIndex...newline)
            }
        }
    }

    /// Every complete line printed so far. A line cut off by a kill is not included.
    var lines: [String] { lock.withLock { completeLines } }

    var processIdentifier: Int32 { process.processIdentifier }

    /// Sends SIGKILL: the process gets no chance to clean up.
    func kill() {
        _ = Foundation.kill(process.processIdentifier, SIGKILL)
    }

    /// Waits until the process has exited and its output is fully read; returns its status.
    @discardableResult
    func wait() -> Int32 {
        process.waitUntilExit()
        finished.wait()
        return process.terminationStatus
    }

    /// Waits (polling) until at least `count` lines have arrived, or the timeout passes.
    func waitForLines(_ count: Int, timeout: TimeInterval = 30) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if lock.withLock({ completeLines.count }) >= count { return true }
            if !process.isRunning && lock.withLock({ completeLines.count }) < count { return false }
            Thread.sleep(forTimeInterval: 0.001)
        }
        return false
    }
}
