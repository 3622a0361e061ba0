import Foundation

/// Text written to a file (or standard output) in large blocks: exports stream millions of
/// lines in constant memory.
final class BufferedOutput {
    private let handle: FileHandle
    /// Appended to directly by writers that produce bytes; flushed past `threshold`.
    var buffer: [UInt8] = []
    private let threshold = 1 << 20

    init(_ handle: FileHandle) {
        self.handle = handle
        buffer.reserveCapacity(threshold + 65_536)
    }

    func write(_ text: String) throws {
        buffer.append(contentsOf: text.utf8)
        try flushIfFull()
    }

    func flushIfFull() throws {
        if buffer.count >= threshold { try flush() }
    }

    func flush() throws {
        guard !buffer.isEmpty else { return }
        try buffer.withUnsafeBytes {
            try handle.write(
                contentsOf: Data(
                    bytesNoCopy: UnsafeMutableRawPointer(mutating: $0.baseAddress!), count: $0.count, deallocator: .none
                ))
        }
        buffer.removeAll(keepingCapacity: true)
    }
}

/// Lines of a file, read in large blocks: restores and imports never hold the whole file.
final class LineReader {
    private let handle: FileHandle
    private var buffer = Data()
    private var position = 0
    private var atEnd = false
    private(set) var lineNumber = 0
    /// Bytes of the file consumed so far, for progress.
    private(set) var bytesRead = 0

    init(_ handle: FileHandle) {
        self.handle = handle
    }

    /// The next line without its newline, or nil at the end.
    func next() throws -> Data? {
        while true {
            if let newline = buffer[position...].firstIndex(of: UInt8(ascii: "\n")) {
                let line = buffer[position..<newline]
                bytesRead += newline + 1 - position
                position = newline + 1
                lineNumber += 1
                return Data(line)
            }
            if atEnd {
                guard position < buffer.count else { return nil }
                let line = buffer[position...]
                bytesRead += buffer.count - position
                position = buffer.count
                lineNumber += 1
                return Data(line)
            }
            buffer.removeSubrange(..<position)
            position = 0
            let chunk = try handle.read(upToCount: 1 << 20) ?? Data()
            if chunk.isEmpty { atEnd = true } else { buffer.append(chunk) }
        }
    }
}
