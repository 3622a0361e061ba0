import EventLog

/// How one stored record folds into the projectors that read it: a rebuild batch's folder
/// (`BatchFolder`) share it.
enum RecordFold {
    /// Folds `record` into the projectors in `readers` (bit i: projector i), in order: in place
    /// from `view` for those in `inPlace` whose `applyInPlace` takes it, else through the event
    /// decoded from `record`, once for all of them. `meter`, when given, times each call as a
    /// sampled event's.
    @inline(__always)
    static func fold(
        _ record: UnsafeRawBufferPointer, view: EventRecordView?, readers: UInt64, inPlace: UInt64,
        projectors: [any Projector],
        meter: FoldCostMeter? = nil, store: (Int) -> ProjectionStore
    ) throws {
        var event: StoredEvent?
        var readers = readers
        while readers != 0 {
            let index = readers.trailingZeroBitCount
            readers &= readers &- 1
            let start = meter == nil ? 0 : FoldCostMeter.now()
            let foldedInPlace =
                try inPlace & (1 << UInt64(index)) != 0
                && view.map { try projectors[index].applyInPlace($0, to: store(index)) } == true
            if !foldedInPlace {
                if event == nil { event = try StoredEvent(record: record) }
                try projectors[index].apply(event!, to: store(index))
            }
            meter?.addSampled(index, since: start)
        }
    }
}
