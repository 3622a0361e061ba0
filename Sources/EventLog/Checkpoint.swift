/// A sequence number and the hash of the event at it: a log's head, or a point an auditor
/// trusts and verifies onward from.
public struct Checkpoint: Sendable, Hashable, CustomStringConvertible {
    public var sequence: UInt64
    public var hash: EventHash

    public init(sequence: UInt64, hash: EventHash) {
        self.sequence = sequence
        self.hash = hash
    }

    /// Parses "SEQUENCE:HEX", as `tally verify` prints a head.
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let sequence = UInt64(parts[0]), sequence > 0, let hash = EventHash(hex: parts[1])
        else {
            return nil
        }
        self.init(sequence: sequence, hash: hash)
    }

    public var description: String { "\(sequence):\(hash.hex)" }
}
