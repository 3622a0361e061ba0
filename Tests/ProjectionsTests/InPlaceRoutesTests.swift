import EventLog
import Foundation
import LMDB
import Testing

@testable import Projections

/// Reads `types` and folds `inPlace` of them in place (it is only routed, never folded).
struct RoutedOnly: Projector {
    let name: String
    let version: UInt32 = 1
    let eventTypes: Set<String>
    let inPlaceEventTypes: Set<String>
    let databases: [String: DatabaseOptions] = [:]

    func apply(_ event: StoredEvent, to store: ProjectionStore) throws {}
}

@Suite("Projections: routing events folded in place")
struct InPlaceRoutesTests {
    @Test(
        "types of every length, and types alike in their first and last eight bytes: each found exactly, the others not at all"
    )
    func exactMatches() {
        var types = (1...30).map { String(repeating: "u", count: $0 - 1) + "d" }
        // Same length, same first and last eight bytes, a different middle.
        types += ["usage.recorded.by.a.member", "usage.recorded.xx.a.member", "usage.corrected"]
        let first = RoutedOnly(
            name: "first", eventTypes: Set(types),
            inPlaceEventTypes: Set(types.enumerated().filter { $0.offset % 2 == 0 }.map(\.element)))
        let second = RoutedOnly(name: "second", eventTypes: Set(types.suffix(4)), inPlaceEventTypes: [])
        let routes = InPlaceRoutes([first, second])
        for (offset, type) in types.enumerated() {
            let route = Array(type.utf8).withUnsafeBytes { routes.route(of: $0) }
            if offset % 2 == 0 {
                #expect(route?.inPlace == 1, "\(type)")
                #expect(route?.readers == (types.suffix(4).contains(type) ? 3 : 1), "\(type)")
            } else {
                #expect(route == nil, "\(type)")
            }
        }
        for other in [
            "", "d", "usage.recorded.by.a.membeR", "usage.recorded.by.b.member", "usage.recorded.by.a.member.",
        ] {
            let route = Array(other.utf8).withUnsafeBytes { routes.route(of: $0) }
            #expect(
                route == nil || types.enumerated().contains { $0.offset % 2 == 0 && $0.element == other }, "\(other)")
        }
    }
}
