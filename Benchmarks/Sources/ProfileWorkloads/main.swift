// ProfileWorkloads WORKLOAD [EVENTS]: runs one benchmark workload once, for a profiler.
//   append   batched appends, 1,000 per transaction
//   group    256 concurrent async appenders
//   group-uuid  the same with random (UUIDv4) idempotency keys
//   scan     append EVENTS, then scan them with decode 5 times
//   verify   append EVENTS, then verify 5 times
//   rebuild  append EVENTS, then rebuild a per-organization totals projection 3 times
//   quota    one subscribed organization; EVENTS quota checks, reporting p50 and p99
//   quota-tenants  the package benchmark's fixture (500 tenants, 20,000 usage events); EVENTS checks
//   engine   500 tenants; EVENTS usage through the engine in batches of 1,000, then a
//            rebuild of every read model, reporting both rates and the peak RSS
//   engine-rebuild DIR   opens the engine left in DIR by `engine` (run with TALLY_BENCH_KEEP=1,
//            which keeps /tmp/tally-bench-engine-*) and rebuilds every read
//            model, reporting the rate and the peak RSS of the rebuild alone; with
//            TALLY_BENCH_REPEAT=N it rebuilds N times first, in the same process (as the
//            package benchmark's iterations follow its warm-up), and TALLY_BENCH_BATCHES=1
//            prints the time at the end of each batch
import BenchmarkFixtures
import Billing
import EventLog
import Foundation
import LMDB
import Tally

let workload = CommandLine.arguments.dropFirst().first ?? "append"
let count = CommandLine.arguments.dropFirst(2).first.flatMap(Int.init) ?? 200_000
let argument = CommandLine.arguments.dropFirst(2).first ?? ""
let log = Fixtures.openLog("profile")
let clock = ContinuousClock()

func fill() {
    for batch in 0..<(count / 1000) {
        _ = try! log.appendSynchronously(contentsOf: (0..<1000).map { Fixtures.usage(batch * 1000 + $0) })
    }
}

/// `count` timings of `check`, in nanoseconds, sorted.
func sortedLatencies(_ check: () throws -> Void) rethrows -> [Int64] {
    var samples: [Int64] = []
    samples.reserveCapacity(count)
    for _ in 0..<count {
        let began = ContinuousClock.now
        try check()
        let elapsed = ContinuousClock.now - began
        samples.append(elapsed.components.attoseconds / 1_000_000_000 + elapsed.components.seconds * 1_000_000_000)
    }
    return samples.sorted()
}

switch workload {
case "append":
    let elapsed = clock.measure { fill() }
    print(
        "append: \(Double(count) / (Double(elapsed.components.attoseconds) / 1e18 + Double(elapsed.components.seconds))) events/s"
    )
case "group", "group-uuid":
    let drafts = (0..<count).map { number in
        var draft = Fixtures.usage(number)
        if workload == "group-uuid" { draft.idempotencyKey = UUID().uuidString }
        return draft
    }
    let elapsed = await clock.measure {
        await withTaskGroup(of: Void.self) { group in
            for task in 0..<256 {
                group.addTask {
                    var index = task
                    while index < count {
                        _ = try! await log.append(drafts[index])
                        index += 256
                    }
                }
            }
        }
    }
    print(
        "\(workload): \(Double(count) / (Double(elapsed.components.attoseconds) / 1e18 + Double(elapsed.components.seconds))) events/s"
    )
case "scan", "verify":
    fill()
    let elapsed = try clock.measure {
        for _ in 0..<5 {
            if workload == "scan" {
                try log.forEachEvent(batchSize: 65_536) { _ in true }
            } else {
                let report = try log.verify()
                precondition(report.isIntact)
            }
        }
    }
    print(
        "\(workload): \(Double(5 * count) / (Double(elapsed.components.attoseconds) / 1e18 + Double(elapsed.components.seconds))) events/s"
    )
case "rebuild":
    fill()
    let projections = try ProjectionSet(environment: log.environment, projectors: [UsageTotalsProjector()])
    let elapsed = try clock.measure {
        for _ in 0..<3 { try projections.rebuild("usage_totals") }
    }
    print(
        "rebuild: \(Double(3 * count) / (Double(elapsed.components.attoseconds) / 1e18 + Double(elapsed.components.seconds))) events/s"
    )
    let rss =
        (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8))?.split(separator: "\n").first {
            $0.hasPrefix("VmHWM")
        } ?? ""
    print("peak \(rss)")
case "quota":
    let engine = try Engine(directory: Fixtures.temporaryDirectory("quota"))
    let start = Date(timeIntervalSince1970: 1_764_000_000)
    try await engine.initializeDefaultPlans(at: start)
    try await engine.register(
        OrganizationRegistration(id: "org_q", name: "Q", billingEmail: "q@q.test", country: "US", currency: .usd),
        at: start)
    try await engine.subscribe("org_q", to: "free", interval: .monthly, at: start)
    try await engine.recordUsage(
        UsageRecord(organizationID: "org_q", metric: "api_calls", quantity: 5, occurredAt: start))
    let samples = try sortedLatencies {
        let usage = try engine.quota(for: "org_q", metric: "api_calls", at: start).usage
        precondition(usage == 5)
    }
    print("quota check: p50 \(samples[count / 2]) ns, p99 \(samples[count * 99 / 100]) ns")
case "quota-tenants":
    // The package benchmark's quota fixture: 500 tenants, 20,000 usage events.
    let engine = try await EngineFixtures.engine("quota")
    for batch in 0..<20 {
        _ = try await engine.recordUsage((0..<1_000).map { EngineFixtures.usage(batch * 1_000 + $0) })
    }
    let samples = try sortedLatencies {
        let usage = try engine.quota(
            for: "org_7", metric: "api_calls", at: EngineFixtures.start.addingTimeInterval(3_600)
        ).usage
        precondition(usage > 0)
    }
    print(
        "quota check, 500 tenants: p50 \(samples[count / 2]) ns, p99 \(samples[count * 99 / 100]) ns, p99.9 \(samples[count * 999 / 1000]) ns"
    )
case "engine":
    let engine = try await EngineFixtures.engine("engine")
    var batchTimes: [Double] = []  // seconds per batch, building the batch excluded
    let appendTime = try await clock.measure {
        for batch in 0..<(count / 1000) {
            let usage = (0..<1000).map { EngineFixtures.usage(batch * 1000 + $0) }
            let started = clock.now
            let results = try await engine.recordUsage(usage)
            batchTimes.append(seconds(clock.now - started))
            precondition(results.allSatisfy { (try? $0.get()) != nil })
        }
    }
    print("engine usage, batches of 1,000: \(Double(count) / seconds(appendTime)) events/s")
    let sorted = batchTimes.sorted()
    let rate = { (quantile: Double) in Int(1000 / sorted[min(sorted.count - 1, Int(Double(sorted.count) * quantile))]) }
    print(
        "  per batch (building it excluded): mean \(Int(Double(count) / sorted.reduce(0, +))) events/s; p50 \(rate(0.5)), p75 \(rate(0.75)), p90 \(rate(0.9)), p99 \(rate(0.99))"
    )
    // One batch in 16 crosses a block of the member journal and merges it (16,384 sequences).
    let slowest = sorted.suffix(max(1, sorted.count / 16))
    print(
        "  slowest sixteenth of the batches (the journal merges): mean \(Int(slowest.reduce(0, +) / Double(slowest.count) * 1_000)) ms, the others \(String(format: "%.2f", sorted.dropLast(slowest.count).reduce(0, +) / Double(sorted.count - slowest.count) * 1_000)) ms"
    )
    // A member query reads the cells and adds the journal's unmerged entries (up to a block).
    let queryTime = try clock.measure {
        for organization in 0..<100 {
            _ =
                (try engine.live.usage(
                    of: EngineFixtures.organization(organization), from: EngineFixtures.start, to: EngineFixtures.start,
                    by: .user))
        }
    }
    print("  usage by user of one organization: \(Int(seconds(queryTime) * 1e6 / 100)) µs")
    if ProcessInfo.processInfo.environment["TALLY_BENCH_SKIP_REBUILD"] != nil { break }
    let rebuildTime = try clock.measure { try engine.rebuild() }
    let events = try engine.head()?.sequence ?? 0
    print("rebuild of every read model: \(Double(events) / seconds(rebuildTime)) events/s over \(events) events")
    print("peak \(peakRSS())")
case "engine-rebuild":
    var options = EnvironmentOptions()
    options.mapSize = 1 << 35
    let engine = try Engine(directory: argument, environment: options)
    let events = try engine.head()?.sequence ?? 0
    print("opened: peak \(peakRSS())")
    let batchSize =
        ProcessInfo.processInfo.environment["TALLY_BENCH_BATCH"].flatMap(Int.init) ?? Engine.rebuildBatchSize
    // TALLY_BENCH_BATCHES=1: the time at the end of each batch, and of the switch that follows.
    let timesBatches = ProcessInfo.processInfo.environment["TALLY_BENCH_BATCHES"] != nil
    // TALLY_BENCH_REPEAT=N: N rebuilds before the one measured, in this process (the package
    // benchmark's iterations follow a warm-up in one process).
    for _ in 0..<(ProcessInfo.processInfo.environment["TALLY_BENCH_REPEAT"].flatMap(Int.init) ?? 0) {
        try engine.rebuild(batchSize: batchSize)
    }
    let began = clock.now
    var marks: [String] = []
    let rebuildTime = try clock.measure {
        try engine.rebuild(batchSize: batchSize) { _, folded in
            if timesBatches { marks.append("\(folded): \(Int(seconds(clock.now - began) * 1_000)) ms") }
        }
    }
    if timesBatches { print(marks.joined(separator: ", ") + ", end: \(Int(seconds(rebuildTime) * 1_000)) ms") }
    print("rebuild of every read model: \(Double(events) / seconds(rebuildTime)) events/s over \(events) events")
    print("peak \(peakRSS())")
default:
    print("unknown workload \(workload)")
}
print(
    "record size \(Fixtures.recordSize) bytes; used \(log.environment.usedSize / max(1, Int(try log.head()?.sequence ?? 1))) bytes/event"
)

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

func peakRSS() -> String {
    let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
    return status.split(separator: "\n").filter {
        $0.hasPrefix("VmHWM") || $0.hasPrefix("RssFile") || $0.hasPrefix("RssAnon")
    }.joined(separator: ", ")
}
