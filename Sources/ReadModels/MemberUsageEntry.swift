import EventLog

/// What one usage event does to a rollup cell.
enum UsageChange: Equatable {
    /// Usage recorded: `quantity` at `at` (nanoseconds since 1970).
    case record(Int64, at: Int64)
    /// A correction of earlier usage by `delta`.
    case correct(Int64)

    func apply(to rollup: inout UsageRollup) {
        switch self {
        case .record(let quantity, let at): rollup.record(quantity, at: at)
        case .correct(let delta): rollup.correct(by: delta)
        }
    }
}

/// A usage event's change to its user's and its resource's cells, as the rollups journal it
/// until the next merge (`UsageRollupsProjector`): which cells, on which day, and how.
///
/// Stored as: kind (0 record, 1 correction); the zigzag varint quantity or delta; for a
/// record, the zigzag varint moment in nanoseconds; the zigzag varint day; then the
/// organization, metric, user and resource, each a varint length and its bytes (the user or
/// the resource may be empty, not both). The bytes are views into the buffer read.
struct MemberUsageEntry {
    var change: UsageChange
    var day: Int32
    var organization: UnsafeRawBufferPointer
    var metric: UnsafeRawBufferPointer
    var user: UnsafeRawBufferPointer
    var resource: UnsafeRawBufferPointer

    /// The most bytes `write(to:)` takes.
    var maximumSize: Int {
        1 + 10 + 10 + 5 + 4 * 5 + organization.count + metric.count + user.count + resource.count
    }

    /// Writes the entry into `buffer` (at least `maximumSize` bytes); returns how many bytes.
    func write(to buffer: UnsafeMutableRawBufferPointer) -> Int {
        var writer = VarintWriter(buffer)
        switch change {
        case .record(let quantity, let at):
            writer.put(byte: 0)
            writer.put(zigzag: quantity)
            writer.put(zigzag: at)
        case .correct(let delta):
            writer.put(byte: 1)
            writer.put(zigzag: delta)
        }
        writer.put(zigzag: Int64(day))
        writer.put(lengthDelimited: organization)
        writer.put(lengthDelimited: metric)
        writer.put(lengthDelimited: user)
        writer.put(lengthDelimited: resource)
        return writer.count
    }
}

// In an extension, so that the memberwise initializer stays.
extension MemberUsageEntry {
    /// The entry `write(to:)` stored in `buffer`, viewing its bytes; nil if it is not one.
    init?(buffer: UnsafeRawBufferPointer) {
        guard let kind = buffer.first, kind <= 1 else { return nil }
        var reader = ProtobufWireReader(UnsafeRawBufferPointer(rebasing: buffer[1...]))
        func zigzag() -> Int64? {
            reader.varint().map { Int64(bitPattern: $0 >> 1) ^ -Int64(bitPattern: $0 & 1) }
        }
        guard let amount = zigzag() else { return nil }
        let change: UsageChange
        if kind == 0 {
            guard let at = zigzag() else { return nil }
            change = .record(amount, at: at)
        } else {
            change = .correct(amount)
        }
        guard let day = zigzag(), let day = Int32(exactly: day), let organization = reader.lengthDelimited(),
            let metric = reader.lengthDelimited(), let user = reader.lengthDelimited(), let resource = reader.lengthDelimited(),
            reader.isAtEnd
        else { return nil }
        self.init(change: change, day: day, organization: organization, metric: metric, user: user, resource: resource)
    }
}
