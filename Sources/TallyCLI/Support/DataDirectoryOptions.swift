import ArgumentParser
import Foundation

/// `--data DIR`, shared by every command.
struct DataDirectoryOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The log's directory.", valueName: "DIR"))
    var data: String?

    /// The directory: --data, else $TALLY_DATA, else ./tally-data.
    var path: String {
        data ?? ProcessInfo.processInfo.environment["TALLY_DATA"] ?? "./tally-data"
    }
}
