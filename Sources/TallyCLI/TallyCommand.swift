import ArgumentParser

/// The `tally` command-line tool.
@main
struct TallyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tally",
        abstract: "Tally: an event-sourced metering and billing engine.",
        discussion: """
            Every billing fact is appended once to a hash-chained event log in LMDB.
            Commands take --data DIR (default ./tally-data, or $TALLY_DATA).
            """,
        subcommands: [
            DemoCommand.self, ShowCommand.self, QuotaCommand.self, UsageCommand.self, InvoicesCommand.self,
            InvoiceCommand.self, PaymentsCommand.self, RevenueCommand.self,
            MRRCommand.self, ChurnCommand.self, CohortsCommand.self, LTVCommand.self, RiskCommand.self,
            ForecastCommand.self, RebuildCommand.self,
            StatsCommand.self, ExportCommand.self,
            RestoreCommand.self, AppendCommand.self, ImportCommand.self, VerifyCommand.self,
        ]
    )
}
