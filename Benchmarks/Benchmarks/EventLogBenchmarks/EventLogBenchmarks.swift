import Benchmark
import BenchmarkFixtures
import EventLog
import Foundation
import LMDB

// Each Tally figure has a raw-LMDB baseline measured in the same run, so results read as
// ratios whatever the machine (docs/PERFORMANCE.md records them).

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.throughput, .wallClock],
        warmupIterations: 3,
        scalingFactor: .kilo,
        maxDuration: .seconds(5),
        maxIterations: 200
    )

    // MARK: Batched append, 1,000 events per transaction

    let batchLog = Fixtures.openLog("batch")
    let batchCounter = Counter()
    Benchmark("Append: batch of 1,000 usage events (durable)") { benchmark in
        let start = batchCounter.take(benchmark.scaledIterations.count)
        let drafts = benchmark.scaledIterations.map { Fixtures.usage(start + $0) }
        benchmark.startMeasurement()
        blackHole(try batchLog.appendSynchronously(contentsOf: drafts))
        benchmark.stopMeasurement()
    }

    let (rawBatchEnvironment, rawBatchDatabase) = Fixtures.openRaw("raw-batch")
    let rawCounter = Counter()
    let rawValue = [UInt8](repeating: 0x5A, count: Fixtures.recordSize)
    Benchmark("Baseline: raw LMDB MDB_APPEND, 1,000 same-sized values per transaction (durable)") { benchmark in
        let start = rawCounter.take(benchmark.scaledIterations.count)
        let keys = benchmark.scaledIterations.map { Fixtures.key(UInt64(start + $0 + 1)) }
        benchmark.startMeasurement()
        try rawBatchEnvironment.write { txn in
            for key in keys { try txn.put(rawValue, forKey: key, in: rawBatchDatabase, options: .append) }
        }
        benchmark.stopMeasurement()
    }

    // MARK: Group commit, 256 concurrent appenders

    let groupLog = Fixtures.openLog("group")
    let groupCounter = Counter()
    Benchmark(
        "Append: group commit, 256 concurrent async appenders (durable)",
        configuration: .init(
            metrics: [
                .throughput, .wallClock,
                .custom("ack latency (µs)", polarity: .prefersSmaller, useScalingFactor: false),
            ],
            scalingFactor: .kilo, maxDuration: .seconds(5), maxIterations: 100)
    ) { benchmark in
        // 256 tasks share the iteration's events (~4 each with the kilo scaling factor).
        // The drafts are made before the clock starts: this measures the log, not formatting.
        let events = benchmark.scaledIterations.count
        let start = groupCounter.take(events)
        let drafts = (0..<events).map { Fixtures.usage(start + $0) }
        benchmark.startMeasurement()
        let latencies = await withTaskGroup(of: [Int].self) { group in
            for task in 0..<256 {
                group.addTask {
                    var latencies: [Int] = []
                    var index = task
                    while index < events {
                        let began = ContinuousClock.now
                        _ = try! await groupLog.append(drafts[index])
                        latencies.append(Int((ContinuousClock.now - began) / .microseconds(1)))
                        index += 256
                    }
                    return latencies
                }
            }
            return await group.reduce(into: []) { $0 += $1 }
        }
        benchmark.stopMeasurement()
        for latency in latencies {
            benchmark.measurement(
                .custom("ack latency (µs)", polarity: .prefersSmaller, useScalingFactor: false), latency)
        }
    }

    let (rawSingleEnvironment, rawSingleDatabase) = Fixtures.openRaw("raw-single")
    let rawSingleCounter = Counter()
    Benchmark(
        "Baseline: raw LMDB, one durable commit per value",
        configuration: .init(
            metrics: [.throughput, .wallClock], scalingFactor: .one, maxDuration: .seconds(3), maxIterations: 20_000)
    ) { benchmark in
        let key = Fixtures.key(UInt64(rawSingleCounter.take(1) + 1))
        try rawSingleEnvironment.write { txn in
            try txn.put(rawValue, forKey: key, in: rawSingleDatabase, options: .append)
        }
    }

    // MARK: Scan and verify a log of 1,000,000 events

    let scanEventCount = 1_000_000
    let scanLog: EventLog = {
        let log = Fixtures.openLog("scan")
        for batch in 0..<(scanEventCount / 10_000) {
            _ = try! log.appendSynchronously(contentsOf: (0..<10_000).map { Fixtures.usage(batch * 10_000 + $0) })
        }
        return log
    }()
    let scanConfiguration = Benchmark.Configuration(
        metrics: [.throughput, .wallClock], scalingFactor: .mega, maxDuration: .seconds(10), maxIterations: 10)

    Benchmark("Scan: 1,000,000 events with envelope decode", configuration: scanConfiguration) { _ in
        var count = 0
        try scanLog.forEachEvent(batchSize: 65_536) { event in
            count &+= Int(event.sequence & 1)
            return true
        }
        blackHole(count)
    }

    Benchmark("Verify: 1,000,000 events (hash, link, decode)", configuration: scanConfiguration) { _ in
        let report = try scanLog.verify()
        precondition(report.isIntact && report.eventsChecked == UInt64(scanEventCount))
    }

    let events = try! scanLog.environment.database(named: "events")
    Benchmark("Baseline: raw LMDB cursor scan of the same 1,000,000 records", configuration: scanConfiguration) { _ in
        var bytes = 0
        try scanLog.environment.read { txn in
            try txn.withCursor(on: events) { cursor in
                var entry = try cursor.first()
                while let current = entry {
                    bytes &+= current.value.count
                    entry = try cursor.next()
                }
            }
        }
        blackHole(bytes)
    }

    // MARK: Space

    Benchmark(
        "Space: bytes on disk per usage event, indexes included (1,000,000 events)",
        configuration: .init(
            metrics: [.custom("bytes per event", polarity: .prefersSmaller, useScalingFactor: false)], maxIterations: 1)
    ) { benchmark in
        benchmark.measurement(
            .custom("bytes per event", polarity: .prefersSmaller, useScalingFactor: false),
            scanLog.environment.usedSize / scanEventCount)
    }

    Benchmark(
        "Baseline: bytes on disk per same-sized raw LMDB value (1,000,000, MDB_APPEND, no index)",
        configuration: .init(
            metrics: [.custom("bytes per event", polarity: .prefersSmaller, useScalingFactor: false)], maxIterations: 1)
    ) { benchmark in
        let (environment, database) = Fixtures.openRaw("raw-space")
        for batch in 0..<100 {
            try environment.write { txn in
                for index in 0..<10_000 {
                    try txn.put(
                        rawValue, forKey: Fixtures.key(UInt64(batch * 10_000 + index + 1)), in: database,
                        options: .append)
                }
            }
        }
        benchmark.measurement(
            .custom("bytes per event", polarity: .prefersSmaller, useScalingFactor: false),
            environment.usedSize / 1_000_000)
    }
}
