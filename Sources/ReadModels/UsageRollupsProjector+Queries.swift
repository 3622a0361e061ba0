import Billing
import BillingEvents
import EventLog
import Foundation
import LMDB
public import Projections
import SwiftProtobuf
import TallySupport

extension UsageRollupsProjector {

    public enum Breakdown: String, Sendable, CaseIterable {
        case day, user, resource
    }

    /// One row of a usage query: a day (`key` is its date, yyyy-MM-dd), a user or a resource.
    public struct Row: Sendable, Hashable {
        public var metric: String
        public var key: String
        public var rollup: UsageRollup
    }

    /// Usage of `organizationID` on the UTC days from `from` up to and including `to`, per
    /// metric (or just `metric`), broken down by day, user or resource; sorted by metric and key.
    public static func rows(
        _ organizationID: String, metric: String?, fromDay: Int32, toDay: Int32, by breakdown: Breakdown,
        in reader: ProjectionReader
    ) throws -> [Row] {
        var totals: [Row] = []
        var index: [String: [String: Int]] = [:]
        for cell in try cells(organizationID, metric: metric, fromDay: fromDay, toDay: toDay, by: breakdown, in: reader)
        {
            let member = breakdown == .day ? UTCDay.string(cell.day) : cell.member
            if let position = index[cell.metric]?[member] {
                totals[position].rollup.merge(cell.rollup)
            } else {
                index[cell.metric, default: [:]][member] = totals.count
                totals.append(Row(metric: cell.metric, key: member, rollup: cell.rollup))
            }
        }
        return totals.sorted { ($0.metric, $0.key) < ($1.metric, $1.key) }
    }

    /// One cell of the rollups: a metric on a day, for a member (user or resource; empty for
    /// the day's total).
    public struct Cell: Sendable, Hashable {
        public var metric: String
        public var day: Int32
        public var member: String
        public var rollup: UsageRollup
    }

    /// The cells of `organizationID` on the UTC days `fromDay` through `toDay`, unmerged, in
    /// key order (metric, day, member): what trends and forecasts read day by day. Member
    /// cells include the journal's entries not merged yet.
    public static func cells(
        _ organizationID: String, metric: String? = nil, fromDay: Int32, toDay: Int32, by breakdown: Breakdown,
        in reader: ProjectionReader
    ) throws -> [Cell] {
        let prefix = Array(organizationID.utf8) + [0] + (metric.map { Array($0.utf8) + [0] } ?? [])
        let database = reader.database(breakdown == .day ? "daily" : breakdown == .user ? "by_user" : "by_resource")
        var cells: [Cell] = []
        // With a metric, days are next in the key: start at the first day and stop after the last.
        let start = metric == nil ? prefix : dailyKey(organizationID, metric!, day: fromDay)
        try reader.transaction.withCursor(on: database) { cursor in
            var entry = try start.withUnsafeBytes { try cursor.seek(atOrAfter: $0) }
            while let current = entry {
                let key = Array(current.key)
                guard key.starts(with: prefix) else { break }
                let rest = key[(organizationID.utf8.count + 1)...]
                guard let zero = rest.firstIndex(of: 0), key.count >= zero + 5 else { break }
                let day = dayNumber(key[(zero + 1)..<(zero + 5)])
                if metric != nil, day > toDay { break }
                if day >= fromDay, day <= toDay, let rollup = UsageRollup(buffer: current.value, day: day) {
                    cells.append(
                        Cell(
                            metric: String(decoding: rest[..<zero], as: UTF8.self), day: day,
                            member: String(decoding: key[(zero + 5)...], as: UTF8.self), rollup: rollup))
                }
                entry = try cursor.next()
            }
        }
        if breakdown != .day {
            try addJournal(
                to: &cells, organizationID, metric: metric, fromDay: fromDay, toDay: toDay, by: breakdown, in: reader)
        }
        return cells
    }

    /// Folds into `cells` (in key order, and kept so) the journaled changes to the members of
    /// `breakdown` that match: the member cells as a merge would leave them. At most a
    /// journal block of entries to read.
    private static func addJournal(
        to cells: inout [Cell], _ organizationID: String, metric: String?, fromDay: Int32, toDay: Int32,
        by breakdown: Breakdown,
        in reader: ProjectionReader
    ) throws {
        struct Place: Hashable {
            var metric: String
            var day: Int32
            var member: String
        }
        var positions: [Place: Int] = [:]
        var added = false
        let (organization, metricBytes) = (Array(organizationID.utf8), metric.map { Array($0.utf8) })
        var sequences: [UInt64] = []
        try reader.transaction.withCursor(on: reader.database("member_journal")) { cursor in
            var current = try cursor.first()
            while let journaled = current {
                sequences.append(UInt64(bigEndian: journaled.key.loadUnaligned(as: UInt64.self)))
                current = try cursor.next()
            }
        }
        try reader.forEachLogRecord(at: sequences) { sequence, record in
            guard let record else {
                throw BillingError.invalid(
                    field: "usage_rollups.member_journal", rule: "entry \(sequence) names no event of the log")
            }
            // Most entries are other organizations': passed over without a full parse.
            if let owner = EventRecordView.organizationID(record: record), !owner.elementsEqual(organization) { return }
            _ = try withMemberEntry(ofRecord: record) { entry in
                guard entry.organization.elementsEqual(organization),
                    metricBytes.map({ entry.metric.elementsEqual($0) }) ?? true,
                    (fromDay...toDay).contains(entry.day)
                else { return }
                let member = breakdown == .user ? entry.user : entry.resource
                guard !member.isEmpty else { return }
                if positions.isEmpty, !cells.isEmpty {
                    for (position, cell) in cells.enumerated() {
                        positions[Place(metric: cell.metric, day: cell.day, member: cell.member)] = position
                    }
                }
                let place = Place(
                    metric: String(decoding: entry.metric, as: UTF8.self), day: entry.day,
                    member: String(decoding: member, as: UTF8.self))
                if let position = positions[place] {
                    entry.change.apply(to: &cells[position].rollup)
                } else {
                    var rollup = UsageRollup()
                    entry.change.apply(to: &rollup)
                    positions[place] = cells.count
                    cells.append(Cell(metric: place.metric, day: place.day, member: place.member, rollup: rollup))
                    added = true
                }
            }
        }
        if added {
            cells.sort { first, second in
                if first.metric != second.metric {
                    return first.metric.utf8.lexicographicallyPrecedes(second.metric.utf8)
                }
                if first.day != second.day { return first.day < second.day }
                return first.member.utf8.lexicographicallyPrecedes(second.member.utf8)
            }
        }
    }
}
