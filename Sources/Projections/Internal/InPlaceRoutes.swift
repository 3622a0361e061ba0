import EventLog
import Foundation

/// For each event type that some projector folds in place, which projectors read it and which
/// of those fold it in place (bit i: projector i), found by the type's bytes as an
/// `EventRecordView` gives them. Appends (`ProjectionSet`) and rebuilds (`BatchFolder`) route
/// the events they read in place through it, once per event.
struct InPlaceRoutes {
    private struct Route {
        let type: [UInt8]
        /// The type's first and last eight bytes (overlapping, or zero-padded when shorter):
        /// for types of up to 16 bytes, all of them, so most lookups compare two words and
        /// call nothing (a `memcmp` per event was a twentieth of a rebuild lane's time).
        let words: (UInt64, UInt64)
        let readers: UInt64
        let inPlace: UInt64
    }

    private let routes: [Route]

    /// At most 64 projectors.
    init(_ projectors: [any Projector]) {
        routes = Set(projectors.flatMap(\.inPlaceEventTypes)).sorted().map { type in
            var readers: UInt64 = 0
            var inPlace: UInt64 = 0
            for (index, projector) in projectors.enumerated() {
                if projector.eventTypes.contains(type) { readers |= 1 << UInt64(index) }
                if projector.inPlaceEventTypes.contains(type) { inPlace |= 1 << UInt64(index) }
            }
            let bytes = Array(type.utf8)
            return Route(type: bytes, words: bytes.withUnsafeBytes(Self.words), readers: readers, inPlace: inPlace)
        }
    }

    var isEmpty: Bool { routes.isEmpty }

    /// The route of `eventType`, or nil when no projector folds it in place.
    func route(of eventType: UnsafeRawBufferPointer) -> (readers: UInt64, inPlace: UInt64)? {
        let words = Self.words(eventType)
        for route in routes where route.type.count == eventType.count && route.words == words {
            if eventType.count <= 16 || route.type.withUnsafeBytes({ $0.elementsEqual(eventType) }) {
                return (route.readers, route.inPlace)
            }
        }
        return nil
    }

    @inline(__always) private static func words(_ bytes: UnsafeRawBufferPointer) -> (UInt64, UInt64) {
        if bytes.count >= 8 {
            return (
                bytes.loadUnaligned(as: UInt64.self),
                bytes.loadUnaligned(fromByteOffset: bytes.count - 8, as: UInt64.self)
            )
        }
        var word: UInt64 = 0
        for (index, byte) in bytes.enumerated() { word |= UInt64(byte) << (8 * UInt64(index)) }
        return (word, 0)
    }
}
