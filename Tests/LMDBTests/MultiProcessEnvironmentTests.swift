import Foundation
import LMDB
import TallyTestSupport
import Testing

/// LMDB behaviours that only show with a second, real process.
@Suite("The LMDB wrapper with other processes", .serialized)
struct MultiProcessEnvironmentTests {
    static var probe: URL { BuiltProducts.executable("TallyTestProbe") }

    /// Starts the probe and waits for its first line of output (nil if it printed none).
    static func start(_ arguments: [String]) throws -> (Process, String?) {
        let process = Process()
        process.executableURL = probe
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        try? output.fileHandleForWriting.close()
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line.append(chunk)
        }
        return (process, String(decoding: line, as: UTF8.self).split(separator: "\n").first.map(String.init))
    }

    static func temporaryPath(_ label: String) -> String {
        ScratchPath.make(label)
    }

    @Test("a reader slot left by a killed process is cleared, at open and on demand")
    func staleReaders() throws {
        let path = Self.temporaryPath("readers")
        // LMDB resets the reader table when the first process opens an environment nobody
        // holds, so a stale slot only survives while another process keeps it open.
        let (survivor, survivorLine) = try Self.start(["hold-reader", path])
        defer {
            kill(survivor.processIdentifier, SIGKILL)
            survivor.waitUntilExit()
        }
        #expect(survivorLine == "reading")
        let (victim, victimLine) = try Self.start(["hold-reader", path])
        #expect(victimLine == "reading")
        kill(victim.processIdentifier, SIGKILL)
        victim.waitUntilExit()

        let environment = try Environment.open(at: path)
        #expect(environment.staleReadersCleared == 1, "the killed reader's slot, not the live one's")

        let (second, secondLine) = try Self.start(["hold-reader", path])
        #expect(secondLine == "reading")
        kill(second.processIdentifier, SIGKILL)
        second.waitUntilExit()
        #expect(try environment.clearStaleReaders() == 1)
    }

    @Test("a map grown by another process is adopted (MDB_MAP_RESIZED), for reads and writes")
    func adoptsOtherProcessGrowth() throws {
        let path = Self.temporaryPath("resize")
        var options = EnvironmentOptions()
        options.mapSize = 1 << 16
        let environment = try Environment.open(at: path, options: options)
        let values = try environment.database(named: "values")
        let before = environment.mapSize
        // The child writes 4 MiB, growing the map far past the 64 KiB this process mapped.
        let (child, output) = try Self.start(["fill", path, "4000"])
        child.waitUntilExit()
        let line = try #require(output)
        let childMap = try #require(Int(line.split(separator: " ")[1]))
        #expect(childMap > before)
        #expect(try environment.read { try $0.entryCount(in: values) } == 4000)
        #expect(environment.mapSize >= childMap)
        try environment.write {
            try $0.put([1], forKey: withUnsafeBytes(of: UInt64.max.bigEndian) { Array($0) }, in: values)
        }
        #expect(try environment.read { try $0.entryCount(in: values) } == 4001)
    }
}
