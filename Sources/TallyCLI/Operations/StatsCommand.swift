import ArgumentParser
import Foundation
import Tally
import TallyCommands

/// `tally stats`.
struct StatsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "Counts per event type and organization, file and map size, bytes per event.",
        discussion: """
            Scans the whole log. --top limits the organizations listed (the busiest first);
            --format json lists them all.

            Example:
              tally stats --data ./tally-data --top 5
            """)

    @OptionGroup var storage: DataDirectoryOptions

    @Option(help: ArgumentHelp("table or json (default: table on a terminal, json otherwise).", valueName: "FORMAT"))
    var format: OutputFormat?

    @Option(help: "How many organizations to list in the table.")
    var top: Int = 10

    func run() async throws {
        guard top >= 0 else { throw fail("--top must not be negative, got \(top)") }
        let engine = try storage.openExistingEngine()
        var byType: [String: Int] = [:]
        var byOrganization: [String: Int] = [:]
        try engine.forEachEvent(batchSize: 65_536) { event in
            byType[event.eventType, default: 0] += 1
            byOrganization[event.organizationID, default: 0] += 1
            return true
        }
        let size = engine.storageSize()
        let fileSize = size.fileBytes
        let head = try engine.head()
        let events = Int(head?.sequence ?? 0)
        let types = byType.sorted { ($0.value, $1.key) > ($1.value, $0.key) }
        let organizations = byOrganization.sorted { ($0.value, $1.key) > ($1.value, $0.key) }
        let resolved = format ?? (isatty(STDOUT_FILENO) == 1 ? .table : .json)
        if resolved == .json {
            let object = { (pairs: [(key: String, value: Int)]) in
                "{" + pairs.map { "\(OutputValue.quoted($0.key)):\($0.value)" }.joined(separator: ",") + "}"
            }
            print(
                """
                {"events":\(events),"head_hash":\(head.map { OutputValue.quoted($0.hash.hex) } ?? "null"),"file_bytes":\(fileSize),"used_bytes":\(size.usedBytes),\
                "map_bytes":\(size.mapBytes),"bytes_per_event":\(events > 0 ? size.usedBytes / events : 0),\
                "by_type":\(object(types)),"by_organization":\(object(organizations))}
                """)
            return
        }
        let grouped = ProgressReporter.grouped
        print("events          \(grouped(events))")
        print("head            \(head.map { "\($0.sequence) \($0.hash.hex)" } ?? "none")")
        print("file            \(grouped(fileSize)) bytes (\(grouped(size.usedBytes)) used)")
        print("map             \(grouped(size.mapBytes)) bytes")
        print("bytes per event \(events > 0 ? grouped(size.usedBytes / events) : "-") (log, indexes and read models)")
        print("\nby event type")
        for (type, count) in types {
            print("  \(type.padding(toLength: 40, withPad: " ", startingAt: 0)) \(grouped(count).rightAligned(12))")
        }
        print(
            "\nby organization (\(grouped(organizations.count)) organizations; the \(min(top, organizations.count)) busiest)"
        )
        for (organization, count) in organizations.prefix(top) {
            print(
                "  \(organization.padding(toLength: 40, withPad: " ", startingAt: 0)) \(grouped(count).rightAligned(12))"
            )
        }
    }
}
