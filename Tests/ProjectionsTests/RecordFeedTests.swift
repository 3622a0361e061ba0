import Dispatch
import EventLog
import Foundation
import Synchronization
import Testing

@testable import Projections

@Suite("Projections: the record feed between rebuild lanes")
struct RecordFeedTests {
    /// Feeds `count` records from a second thread (as the batch's thread does) and returns
    /// the sequences `take` consumed, in order; `take` returns false to abandon the feed.
    static func run(_ count: Int, take: @escaping @Sendable (UInt64) -> Bool) -> [UInt64] {
        let feed = RecordFeed()
        let taken = Mutex<[UInt64]>([])
        let done = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            defer { done.signal() }
            defer { feed.abandon() }
            while let chunk = feed.nextChunk() {
                for item in chunk {
                    taken.withLock { $0.append(item.sequence) }
                    if !take(item.sequence) { return }
                }
            }
        }
        let bytes: [UInt8] = [1, 2, 3]
        bytes.withUnsafeBytes { record in
            for sequence in 1...UInt64(count) { feed.add(sequence: sequence, record: record, view: nil) }
            feed.finish()
            done.wait()  // the records' bytes outlive the helper, as the batch's do
        }
        return taken.withLock { $0 }
    }

    @Test("every record reaches the helper once, in order, however far the batch's thread runs ahead")
    func inOrder() {
        let count = RecordFeed.defaultChunkSize * RecordFeed.chunksAhead * 3 + 17
        let taken = Self.run(count) { sequence in
            if sequence % 5_000 == 0 { usleep(20_000) }  // a helper that lags behind
            return true
        }
        #expect(taken == Array(1...UInt64(count)))
    }

    @Test(
        "a helper that stops early never leaves the batch's thread waiting, with far more records than the feed holds")
    func abandoned() {
        let count = RecordFeed.defaultChunkSize * RecordFeed.chunksAhead * 4
        let taken = Self.run(count) { $0 < 1_000 }
        #expect(taken == Array(1...1_000))
    }

    @Test("no records: the helper is told at once")
    func empty() {
        let feed = RecordFeed()
        feed.finish()
        #expect(feed.nextChunk() == nil)
    }
}
