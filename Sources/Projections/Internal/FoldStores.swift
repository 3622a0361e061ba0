import LMDB

/// The stores an append's folds write through (`ProjectionStore`), one per projector, made at
/// a transaction's first fold and kept for the rest of it: making them for every event was an
/// allocation and a release per projector and event. Their payload box is shared: it is
/// tagged by sequence, so each event's payload is decoded once for all its projectors.
///
/// `@unchecked Sendable`: used only by the thread holding the write transaction, one at a
/// time (LMDB's writer lock orders them).
final class FoldStores: @unchecked Sendable {
    private var transactionID: UInt64?
    /// By projector index, with the slot each was made for.
    private var stores: [(slot: UInt8, store: ProjectionStore)?] = []
    private let decoded = DecodedPayload()

    /// Projector `index`'s store for `slot` in `txn`, made by `make` (given the shared payload
    /// box) at its first fold in that transaction.
    func store(
        _ index: Int, of count: Int, slot: UInt8, in txn: WriteTransaction, make: (DecodedPayload) -> ProjectionStore
    ) -> ProjectionStore {
        if transactionID != txn.id {
            transactionID = txn.id
            stores = Array(repeating: nil, count: count)
        }
        if let made = stores[index], made.slot == slot { return made.store }
        let store = make(decoded)
        stores[index] = (slot, store)
        return store
    }

    /// Lets go of the stores (their transaction ended).
    func reset() {
        transactionID = nil
        stores = []
    }
}
