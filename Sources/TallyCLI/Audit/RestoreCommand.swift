import ArgumentParser
import EventLog
import Foundation
import Tally
import TallyCommands

/// `tally restore FILE.jsonl --data NEWDIR`.
struct RestoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Rebuild a log from a complete JSONL export, byte for byte, and check it against the manifest.",
        discussion: """
            Every event is re-encoded from its JSON and must hash to the hash the export recorded,
            continue the chain, and come in sequence; the manifest must be the last line, say the
            export is complete, and agree with what was restored (count, last sequence, head
            hash). The read models are built as the events go in. --data must not hold a log.
            This is how an auditor proves an export complete, and how a backup is restored.

            Example:
              tally restore history.jsonl --data ./restored
            """)

    @OptionGroup var storage: DataDirectoryOptions
    @Argument(help: "A JSONL file written by `tally export`.") var file: String

    func run() async throws {
        guard let handle = FileHandle(forReadingAtPath: file) else { throw fail("cannot read \(file)") }
        if FileManager.default.fileExists(atPath: storage.path + "/data.mdb") {
            throw fail("\(storage.path) already holds a log: restore into a new directory")
        }
        let directoryExisted = FileManager.default.fileExists(atPath: storage.path)
        do {
            try restore(from: handle)
        } catch {
            // A failed restore leaves nothing behind: no half-restored log to mistake for a good one.
            for name in ["data.mdb", "lock.mdb"] {
                try? FileManager.default.removeItem(atPath: storage.path + "/" + name)
            }
            if !directoryExisted { try? FileManager.default.removeItem(atPath: storage.path) }
            throw error
        }
    }

    private func restore(from handle: FileHandle) throws {
        let engine = try storage.openEngine(failure: "cannot create a log in \(storage.path)")
        let reader = LineReader(handle)
        var batch: [EventLog.RestoredEvent] = []
        var manifest: ExportManifest?
        var restored: UInt64 = 0
        let size = (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? 1
        let progress = ProgressReporter("restore", total: Double(size), unit: "events")
        let started = ContinuousClock.now
        func flush() throws {
            guard !batch.isEmpty else { return }
            do { try engine.restoreSynchronously(batch) } catch { throw fail("\(file): \(error)") }
            restored += UInt64(batch.count)
            batch.removeAll(keepingCapacity: true)
            progress.update(done: Double(reader.bytesRead), count: Int(restored))
        }
        while let line = try reader.next() {
            guard !line.isEmpty else { continue }
            guard manifest == nil else { throw fail("\(file):\(reader.lineNumber): a line after the manifest") }
            let decoded: ExportLine.Decoded
            do { decoded = try ExportLine.decode(line) } catch { throw fail("\(file):\(reader.lineNumber): \(error)") }
            switch decoded {
            case .event(let event, _):
                batch.append(event)
                if batch.count == 10_000 { try flush() }
            case .manifest(let found):
                manifest = found
            }
        }
        try flush()
        progress.finish()
        guard let manifest else {
            throw fail("\(file) has no manifest line: the export is cut short or not from tally export")
        }
        guard manifest.complete else {
            throw fail(
                "\(file) is a partial export (--organization, --from or --to): only a complete one restores a log")
        }
        let head = try engine.head()
        guard manifest.count == restored, manifest.lastSequence == head?.sequence, manifest.headHash == head?.hash.hex
        else {
            throw fail(
                "\(file) does not match its manifest: \(restored) events restored, head \(head.map { "\($0.sequence) \($0.hash.hex)" } ?? "none"); the manifest says \(manifest.count) events, head \(manifest.headSequence) \(manifest.headHash)"
            )
        }
        let seconds = ProgressReporter.seconds(ContinuousClock.now - started)
        print(
            "restored \(ProgressReporter.grouped(Int(restored))) events in \(String(format: "%.2f", seconds)) s; head \(head!.sequence) \(head!.hash.hex) matches the manifest"
        )
    }
}
