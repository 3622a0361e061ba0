/// A state of some read models as this process knows them (`ProjectionSet.stamp(of:seenBy:)`):
/// two equal stamps of the same read models mean that nothing they hold changed in between,
/// in this process or any other.
public struct ReadModelStamp: Hashable, Sendable {
    let epoch: UInt64
    let generation: UInt64
}
