public import Billing
public import Foundation

/// How query results are printed or answered.
public enum OutputFormat: String, CaseIterable, Sendable {
    case table, json, csv
}

/// One value of query output, typed so that JSON keeps numbers numbers.
public enum OutputValue: Sendable {
    case text(String)
    case integer(Int64)
    case flag(Bool)
    case date(Date)
    case money(Money)
    /// An exact decimal such as a percentage: a JSON number, never a float.
    case decimal(ExactDecimal)
    /// A value with its own JSON (an array of objects) and a short text for tables and CSV.
    case structured(cell: String, json: String)
    case none

    /// A rate as a percentage with two decimals, or none when undefined.
    public static func percent(_ rate: Rate) -> OutputValue { rate.percent().map { .decimal($0) } ?? .none }

    /// As a table or CSV cell.
    public var cell: String {
        switch self {
        case .text(let text): text
        case .integer(let value): String(value)
        case .flag(let value): value ? "true" : "false"
        case .date(let date): date.formatted(.iso8601)
        case .money(let money): "\(money.decimalValue) \(money.currency.code)"
        case .decimal(let value): value.description
        case .structured(let cell, _): cell
        case .none: ""
        }
    }

    /// As JSON: money is {"amount": "49.00", "currency": "USD", "minor_units": 4900}.
    public var json: String {
        switch self {
        case .text(let text): Self.quoted(text)
        case .integer(let value): String(value)
        case .flag(let value): value ? "true" : "false"
        case .date(let date): Self.quoted(date.formatted(.iso8601))
        case .money(let money):
            "{\"amount\":\(Self.quoted(money.decimalValue.description)),\"currency\":\(Self.quoted(money.currency.code)),\"minor_units\":\(money.minorUnits)}"
        case .decimal(let value): value.description
        case .structured(_, let json): json
        case .none: "null"
        }
    }

    public static func quoted(_ text: String) -> String {
        String(decoding: (try? JSONEncoder().encode(text)) ?? Data("\"\"".utf8), as: UTF8.self)
    }
}

/// Rows with named columns in a stable order, printed as a table, JSON or CSV.
public struct QueryOutput: Sendable {
    public let columns: [String]
    public var rows: [[OutputValue]] = []
    /// One entity (`show`): JSON prints an object rather than an array.
    public var isSingle = false

    public init(columns: [String], rows: [[OutputValue]] = [], isSingle: Bool = false) {
        self.columns = columns
        self.rows = rows
        self.isSingle = isSingle
    }

    public func render(_ format: OutputFormat) -> String {
        switch format {
        case .json:
            let objects = rows.map { row in
                "{" + zip(columns, row).map { "\(OutputValue.quoted($0.0)):\($0.1.json)" }.joined(separator: ",") + "}"
            }
            if isSingle, let object = objects.first { return object + "\n" }
            return "[" + objects.joined(separator: ",\n ") + "]\n"
        case .csv:
            let escape = { (cell: String) in
                cell.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" })
                    ? "\"" + cell.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : cell
            }
            return ([columns] + rows.map { $0.map(\.cell) }).map { $0.map(escape).joined(separator: ",") }.joined(
                separator: "\n") + "\n"
        case .table:
            if isSingle, let row = rows.first {
                let width = columns.map(\.count).max() ?? 0
                return zip(columns, row).map {
                    $0.0.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + $0.1.cell
                }.joined(separator: "\n") + "\n"
            }
            let cells = rows.map { $0.map(\.cell) }
            let widths = columns.indices.map { index in
                max(columns[index].count, cells.map { $0[index].count }.max() ?? 0)
            }
            let line = { (values: [String]) in
                zip(values, widths).map { $0.0.padding(toLength: $0.1, withPad: " ", startingAt: 0) }.joined(
                    separator: "  ")
            }
            return ([line(columns)] + cells.map(line)).joined(separator: "\n") + "\n"
        }
    }
}
