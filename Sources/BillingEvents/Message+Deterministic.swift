public import Foundation
public import SwiftProtobuf

extension SwiftProtobuf.Message {
    /// The binary encoding with map entries in key order. Payloads are stored in this form, so
    /// that an export (which carries them as JSON) can be restored to the very same bytes and
    /// hashes: the default encoding orders map entries as the dictionary happens to.
    public func deterministicData() throws -> Data {
        var options = BinaryEncodingOptions()
        options.useDeterministicOrdering = true
        return try serializedData(options: options)
    }
}
