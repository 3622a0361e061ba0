import Projections

extension ProjectionSet {
    /// A projection's databases as comparable byte arrays, to check rebuilds byte for byte.
    func flatDump(_ name: String) throws -> [String: [[UInt8]]] {
        try dump(name).mapValues { $0.flatMap { [$0.0, $0.1] } }
    }
}
