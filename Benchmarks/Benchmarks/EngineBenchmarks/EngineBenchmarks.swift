import Benchmark
import BenchmarkFixtures
import EventLog
import Foundation
import LMDB
import Tally
import TallyCommands

// The engine's figures (issue 3), each beside a baseline measured in the same run:
// usage through the engine against the bare log, a quota check against one raw LMDB read,
// and a rebuild of every read model against a plain scan of the same log.

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.throughput, .wallClock], warmupIterations: 3, scalingFactor: .kilo, maxDuration: .seconds(5),
        maxIterations: 200)

    // MARK: Usage through the engine, 1,000 per commit

    let usageEngine = Holder<Engine>()
    let usageCounter = Counter()
    Benchmark(
        "Engine: usage batch of 1,000 (validation, quota and rollup projections; durable)",
        closure: { benchmark in
            let engine = usageEngine.value
            let start = usageCounter.take(benchmark.scaledIterations.count)
            let batch = benchmark.scaledIterations.map { EngineFixtures.usage(start + $0) }
            benchmark.startMeasurement()
            let results = try! await engine.recordUsage(batch)
            benchmark.stopMeasurement()
            precondition(results.allSatisfy { (try? $0.get()) != nil })
        },
        setup: { usageEngine.value = try await EngineFixtures.engine("usage") })

    let bareLog = Fixtures.openLog("bare")
    let bareCounter = Counter()
    Benchmark("Baseline: bare log, batch of 1,000 usage events (durable)") { benchmark in
        let start = bareCounter.take(benchmark.scaledIterations.count)
        let drafts = benchmark.scaledIterations.map { Fixtures.usage(start + $0) }
        benchmark.startMeasurement()
        blackHole(try bareLog.appendSynchronously(contentsOf: drafts))
        benchmark.stopMeasurement()
    }

    // MARK: Quota check latency

    let quotaEngine = Holder<Engine>()
    let latency = Benchmark.Configuration(
        metrics: [.wallClock, .throughput], warmupIterations: 1_000, scalingFactor: .one, maxDuration: .seconds(3),
        maxIterations: 200_000)
    Benchmark(
        "Engine: quota check (may org_7 make more API calls?), in-process, strongly consistent",
        configuration: latency,
        closure: { _ in
            blackHole(
                try! quotaEngine.value.quota(
                    for: "org_7", metric: "api_calls", at: EngineFixtures.start.addingTimeInterval(3_600)))
        },
        setup: {
            let engine = try await EngineFixtures.engine("quota")
            for batch in 0..<20 {
                _ = try await engine.recordUsage((0..<1_000).map { EngineFixtures.usage(batch * 1_000 + $0) })
            }
            quotaEngine.value = engine
        })

    let (rawEnvironment, rawDatabase) = Fixtures.openRaw("raw-get")
    try! rawEnvironment.write { txn in
        for number in 0..<10_000 {
            try txn.put(
                [UInt8](repeating: 7, count: 17), forKey: Array("org_\(number)\u{0}api_calls".utf8), in: rawDatabase)
        }
    }
    let rawKey = Array("org_7\u{0}api_calls".utf8)
    Benchmark("Baseline: raw LMDB, one read transaction with one get", configuration: latency) { _ in
        blackHole(try! rawEnvironment.read { txn in try txn.value(forKey: rawKey, in: rawDatabase) })
    }

    // MARK: Rebuild of every read model

    let rebuildEngine = Holder<Engine>()
    let rebuildEvents = 500_000
    /// The 500,000-event engine log that the rebuild, export and scan benchmarks share.
    let makeRebuildEngine: @Sendable () async throws -> Void = {
        guard rebuildEngine.isEmpty else { return }
        let engine = try await EngineFixtures.engine("rebuild")
        for batch in 0..<(rebuildEvents / 1_000) {
            _ = try await engine.recordUsage((0..<1_000).map { EngineFixtures.usage(batch * 1_000 + $0) })
        }
        rebuildEngine.value = engine
    }
    let eventsPerSecond = BenchmarkMetric.custom("events/s", polarity: .prefersLarger, useScalingFactor: false)
    let rebuildConfiguration = Benchmark.Configuration(
        metrics: [eventsPerSecond, .wallClock, .peakMemoryResident], warmupIterations: 1, scalingFactor: .one,
        maxDuration: .seconds(20), maxIterations: 5)
    /// Runs `work` over the whole rebuild log and records its rate in events per second.
    let measureRate = { @Sendable (benchmark: Benchmark, work: () throws -> Void) in
        let events = try! rebuildEngine.value.head()!.sequence
        let elapsed = try! ContinuousClock().measure(work)
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        benchmark.measurement(eventsPerSecond, Int(Double(events) / seconds))
    }
    Benchmark(
        "Rebuild: every read model from 500,000 engine events, in one pass",
        configuration: rebuildConfiguration,
        closure: { benchmark in
            measureRate(benchmark) { try rebuildEngine.value.rebuild() }
        },
        setup: makeRebuildEngine)
    Benchmark(
        "Export: the same 500,000 events as JSONL to a file (tally export's writer)",
        configuration: rebuildConfiguration,
        closure: { benchmark in
            let path = Fixtures.temporaryDirectory("export") + "/history.jsonl"
            measureRate(benchmark) {
                _ = FileManager.default.createFile(atPath: path, contents: nil)
                let file = FileHandle(forWritingAtPath: path)!
                var buffer: [UInt8] = []
                buffer.reserveCapacity(1 << 21)
                try rebuildEngine.value.forEachEvent(batchSize: 16_384) { event in
                    try ExportLine.append(event, to: &buffer)
                    if buffer.count >= 1 << 20 {
                        try file.write(contentsOf: buffer)
                        buffer.removeAll(keepingCapacity: true)
                    }
                    return true
                }
                try file.write(contentsOf: buffer)
                try file.close()
            }
            try? FileManager.default.removeItem(atPath: path)
        },
        setup: makeRebuildEngine)
    Benchmark(
        "Baseline: scan with envelope decode of the same engine log",
        configuration: rebuildConfiguration,
        closure: { benchmark in
            measureRate(benchmark) {
                var count = 0
                try rebuildEngine.value.forEachEvent(batchSize: 65_536) { event in
                    count &+= Int(event.sequence & 1)
                    return true
                }
                blackHole(count)
            }
        },
        setup: makeRebuildEngine)
}
