import Billing
import TallyTestSupport
import Testing

@testable import ReadModels

@Suite("Usage rollups: the compact stored form")
struct UsageRollupEncodingTests {
    private func roundTrip(_ rollup: UsageRollup, day: Int32) -> (UsageRollup?, Int) {
        withUnsafeTemporaryAllocation(byteCount: UsageRollup.maximumSize, alignment: 8) { buffer in
            let count = rollup.write(to: buffer, day: day)
            return (UsageRollup(buffer: UnsafeRawBufferPointer(rebasing: buffer[..<count]), day: day), count)
        }
    }

    @Test func aTypicalCellTakesUnder16Bytes() {
        var rollup = UsageRollup()
        let day: Int32 = 20_416  // 2025-11-24
        for second in 0..<500 {
            rollup.record(Int64(1 + second % 100), at: (Int64(day) * 86_400 + 3_600 + Int64(second)) * 1_000_000_000)
        }
        let (decoded, count) = roundTrip(rollup, day: day)
        #expect(decoded == rollup)
        #expect(count <= 16, "a day's cell of 500 events took \(count) bytes")
    }

    @Test func aCellOnlyCorrectedKeepsItsEmptyFields() {
        var rollup = UsageRollup()
        rollup.correct(by: -7)
        let (decoded, count) = roundTrip(rollup, day: 0)
        #expect(decoded == rollup)
        #expect(count == 2)
    }

    @Test func everyValueRoundTripsOnAnyDay() {
        let seed = TestEnvironment.seed()
        var generator = SeededGenerator(seed: seed)
        let extremes: [Int64] = [.min, .min + 1, -1, 0, 1, .max - 1, .max]
        let days: [Int32] = [.min, -1, 0, 1, 20_416, .max]
        func value() -> Int64 {
            Bool.random(using: &generator)
                ? extremes.randomElement(using: &generator)! : Int64.random(in: .min ... .max, using: &generator)
        }
        for _ in 0..<TestEnvironment.iterations(default: 20_000) {
            var rollup = UsageRollup()
            (rollup.sum, rollup.events, rollup.maximum, rollup.latest, rollup.latestAt) = (
                value(), value(), value(), value(), value()
            )
            let day =
                Bool.random(using: &generator)
                ? days.randomElement(using: &generator)! : Int32.random(in: .min ... .max, using: &generator)
            let (decoded, count) = roundTrip(rollup, day: day)
            #expect(decoded == rollup, "seed \(seed): \(rollup) on day \(day)")
            #expect(count <= UsageRollup.maximumSize)
        }
    }

    @Test func malformedBytesAreNotARollup() {
        var rollup = UsageRollup()
        rollup.record(300, at: 1_764_000_000_000_000_000)
        let day = UTCDay.number(of: 1_764_000_000)
        let bytes: [UInt8] = withUnsafeTemporaryAllocation(byteCount: UsageRollup.maximumSize, alignment: 8) { buffer in
            Array(buffer[..<rollup.write(to: buffer, day: day)])
        }
        // Every truncation but the one after sum and events (two bytes for 300, one for 1), which
        // is a rollup that never recorded; trailing bytes; an unfinished varint.
        for cut in 0..<bytes.count where cut != 3 {
            #expect(
                bytes[..<cut].withUnsafeBytes { UsageRollup(buffer: $0, day: day) } == nil,
                "\(cut) of \(bytes.count) bytes")
        }
        #expect((bytes + [0]).withUnsafeBytes { UsageRollup(buffer: $0, day: day) } == nil)
        #expect([0x80].withUnsafeBytes { UsageRollup(buffer: $0, day: day) } == nil)
        #expect(bytes.withUnsafeBytes { UsageRollup(buffer: $0, day: day) } == rollup)
    }
}
