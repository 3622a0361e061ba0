/// The decoded payload of the event being folded, shared by the stores of every projector
/// that folds it (`ProjectionStore.payload(of:_:)`). Lives for one fold on one thread.
///
/// The value sits in a box typed by the payload, reused from event to event, so sharing it
/// costs neither an allocation nor a dynamic cast per event (an `Any` did both: a twentieth
/// of a rebuild's time).
final class DecodedPayload {
    var sequence: UInt64 = 0
    var type: ObjectIdentifier?
    var box: AnyObject?
}

/// One decoded payload of type `Payload`.
final class PayloadBox<Payload> {
    var value: Payload

    init(_ value: Payload) {
        self.value = value
    }
}
