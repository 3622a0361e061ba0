import Foundation
import Projections
import ReadModels
import Tally
import TallyTestSupport
import Testing

/// Appends and rebuilds fold usage read in place (`EventRecordView`), as-of snapshots through
/// decoded events: all must write the same bytes, whichever of user and resource the usage
/// names.
@Suite("Rebuild: usage folded in place equals usage folded on append")
struct RebuildInPlaceTests {
    @Test func everyCombinationOfUserAndResource() async throws {
        let directory = TemporaryDirectory()
        let engine = try await LateUsageTests.engine(directory)
        let start = LateUsageTests.date("2025-01-02T00:00:00Z")
        for (index, (user, resource)) in [
            ("usr_1", "dash_1"), ("", "dash_2"), ("usr_2", ""), ("", ""), ("usr_1", "dash_1"),
        ].enumerated() {
            try await engine.recordUsage(
                UsageRecord(
                    organizationID: "org_l", metric: "api_calls", quantity: Int64(10 + index), userID: user,
                    resourceID: resource,
                    occurredAt: start.addingTimeInterval(Double(index) * 3_600)))
        }
        let before = try [UsageRollupsProjector.name, QuotasProjector.name].map { try engine.projections.flatDump($0) }
        let resources = try engine.live.usage(of: "org_l", from: start, to: start, by: .resource)
        #expect(resources.map(\.key) == ["dash_1", "dash_2"])
        try engine.projections.rebuildAll()
        #expect(
            try [UsageRollupsProjector.name, QuotasProjector.name].map { try engine.projections.flatDump($0) } == before
        )
        let decoded = try ProjectionSnapshot(
            of: engine.log, asOf: try #require(try engine.log.head()).sequence,
            projectors: [UsageRollupsProjector(), QuotasProjector()])
        #expect(
            try [UsageRollupsProjector.name, QuotasProjector.name].map { try decoded.projections.flatDump($0) }
                == before)
    }

    @Test func uniqueCountsOfUsers() async throws {
        let directory = TemporaryDirectory()
        let engine = try await LateUsageTests.engine(directory)
        let start = LateUsageTests.date("2025-01-02T00:00:00Z")
        // Users seen again, a usage with no user, and one with properties (folded through `apply`).
        let users = ["usr_1", "usr_2", "usr_1", "", "usr_3", "usr_2", "usr_4"]
        for (index, user) in users.enumerated() {
            try await engine.recordUsage(
                UsageRecord(
                    organizationID: "org_l", metric: "active_users", quantity: 1, userID: user,
                    properties: index == 6 ? ["region": "eu"] : [:],
                    occurredAt: start.addingTimeInterval(Double(index) * 60)))
        }
        let status = try engine.quota(for: "org_l", metric: "active_users", at: start)
        #expect(status.usage == 4, "distinct users: usr_1 to usr_4")
        let before = try [UsageRollupsProjector.name, QuotasProjector.name].map { try engine.projections.flatDump($0) }
        try engine.projections.rebuildAll()
        #expect(
            try [UsageRollupsProjector.name, QuotasProjector.name].map { try engine.projections.flatDump($0) } == before
        )
        let decoded = try ProjectionSnapshot(
            of: engine.log, asOf: try #require(try engine.log.head()).sequence,
            projectors: [UsageRollupsProjector(), QuotasProjector()])
        #expect(
            try [UsageRollupsProjector.name, QuotasProjector.name].map { try decoded.projections.flatDump($0) }
                == before)
    }
}
