import Crypto
import Foundation
import SwiftProtobuf

/// Turns stored record bytes (hash + envelope) into events, and envelopes into hashes.
enum EnvelopeCoding {
    static let hashLength = 32

    static func sha256(_ bytes: UnsafeRawBufferPointer) -> EventHash {
        SHA256.hash(data: bytes).withUnsafeBytes { EventHash(bytes: $0)! }
    }

    /// Decodes envelope bytes: the fast path for Tally's own encoding, SwiftProtobuf for the rest.
    static func decodeEnvelope(_ bytes: UnsafeRawBufferPointer) throws -> Tally_V1_Envelope {
        if let envelope = EnvelopeFastDecoder.decode(bytes) { return envelope }
        return try decodeEnvelopeGenerically(bytes)
    }

    static func decodeEnvelopeGenerically(_ bytes: UnsafeRawBufferPointer) throws -> Tally_V1_Envelope {
        try Tally_V1_Envelope(serializedBytes: bytes.bytes)
    }

    /// Decodes a record of the `events` database. Throws when it does not decode.
    static func decodeRecord(_ record: UnsafeRawBufferPointer) throws -> StoredEvent {
        guard let hash = EventHash(bytes: record) else { throw BinaryDecodingError.truncated }
        let envelope = try decodeEnvelope(UnsafeRawBufferPointer(rebasing: record[hashLength...]))
        return StoredEvent(envelope: envelope, hash: hash)
    }
}
