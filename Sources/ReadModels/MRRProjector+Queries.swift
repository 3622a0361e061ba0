public import Billing
import Foundation
import LMDB
public import Projections

extension MRRProjector {
    /// Every currency's movement totals per UTC day.
    public static func daily(in reader: ProjectionReader) throws -> [String: [Int32: MovementTotals]] {
        var byCurrency: [String: [Int32: MovementTotals]] = [:]
        try scanByCurrencyAndDay(reader.database("daily"), reader) { currency, day, value in
            byCurrency[currency, default: [:]][day] = decodeTotals(value)
        }
        return byCurrency
    }

    /// Usage revenue invoiced per currency and UTC day (the last day of the service billed).
    public static func metered(in reader: ProjectionReader) throws -> [String: [Int32: Int64]] {
        var byCurrency: [String: [Int32: Int64]] = [:]
        try scanByCurrencyAndDay(reader.database("metered"), reader) { currency, day, value in
            byCurrency[currency, default: [:]][day] = Int64(bigEndian: value.loadUnaligned(as: Int64.self))
        }
        return byCurrency
    }

    /// Every organization's revenue history, by organization id.
    public static func histories(in reader: ProjectionReader) throws -> [CustomerHistory] {
        var histories: [CustomerHistory] = []
        try reader.transaction.withCursor(on: reader.database("customers")) { cursor in
            var entry = try cursor.first()
            while let current = entry {
                histories.append(try Self.historyRecords.decode(current.value))
                entry = try cursor.next()
            }
        }
        return histories
    }

    public static func history(of organizationID: String, in reader: ProjectionReader) throws -> CustomerHistory? {
        try Array(organizationID.utf8).withUnsafeBytes { key in
            try reader.transaction.withValue(forKey: key, in: reader.database("customers")) { bytes in
                try bytes.map(Self.historyRecords.decode)
            }
        }
    }

    private static func scanByCurrencyAndDay(
        _ database: Database, _ reader: ProjectionReader, _ body: (String, Int32, UnsafeRawBufferPointer) throws -> Void
    ) throws {
        try reader.transaction.withCursor(on: database) { cursor in
            var entry = try cursor.first()
            while let current = entry {
                let key = Array(current.key)
                if let zero = key.firstIndex(of: 0), key.count == zero + 5 {
                    try body(
                        String(decoding: key[..<zero], as: UTF8.self),
                        UsageRollupsProjector.dayNumber(key[(zero + 1)...]), current.value)
                }
                entry = try cursor.next()
            }
        }
    }
}
