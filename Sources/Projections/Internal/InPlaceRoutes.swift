import EventLog
import Foundation

/// For each event type that some projector folds in place, which projectors read it and which
/// of those fold it in place (bit i: projector i), found by the type's bytes as an
/// `EventRecordView` gives them. Appends (`ProjectionSet`) and rebuilds (`BatchFolder`) route
/// the events they read in place through it.
struct InPlaceRoutes {
    private let routes: [(type: [UInt8], readers: UInt64, inPlace: UInt64)]

    /// At most 64 projectors.
    init(_ projectors: [any Projector]) {
        routes = Set(projectors.flatMap(\.inPlaceEventTypes)).sorted().map { type in
            var readers: UInt64 = 0
            var inPlace: UInt64 = 0
            for (index, projector) in projectors.enumerated() {
                if projector.eventTypes.contains(type) { readers |= 1 << UInt64(index) }
                if projector.inPlaceEventTypes.contains(type) { inPlace |= 1 << UInt64(index) }
            }
            return (Array(type.utf8), readers, inPlace)
        }
    }

    var isEmpty: Bool { routes.isEmpty }

    /// The route of `eventType`, or nil when no projector folds it in place.
    func route(of eventType: UnsafeRawBufferPointer) -> (readers: UInt64, inPlace: UInt64)? {
        for route in routes where route.type.count == eventType.count {
            if route.type.withUnsafeBytes({ memcmp($0.baseAddress!, eventType.baseAddress!, eventType.count) == 0 }) {
                return (route.readers, route.inPlace)
            }
        }
        return nil
    }
}
