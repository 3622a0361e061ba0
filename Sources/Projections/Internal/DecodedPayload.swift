/// The decoded payload of the event being folded, shared by the stores of every projector
/// that folds it (`ProjectionStore.payload(of:_:)`). Lives for one fold on one thread.
final class DecodedPayload {
    var sequence: UInt64 = 0
    var type: ObjectIdentifier?
    var value: Any?
}
