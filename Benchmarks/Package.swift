// swift-tools-version: 6.1
import PackageDescription

// Benchmarks live in their own package so that users and the test suite never build them.
// Run: cd Benchmarks && swift package --allow-writing-to-package-directory benchmark
let package = Package(
    name: "TallyBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "Tally", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark.git", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .target(
            name: "BenchmarkFixtures",
            dependencies: [
                .product(name: "EventLog", package: "Tally"), .product(name: "LMDB", package: "Tally"),
                .product(name: "Projections", package: "Tally"), .product(name: "Tally", package: "Tally"),
                .product(name: "Billing", package: "Tally"),
            ],
            path: "Sources/BenchmarkFixtures",
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        // Runs one workload in a loop, for `perf record` and callgrind (docs/PERFORMANCE.md).
        .executableTarget(
            name: "ProfileWorkloads",
            dependencies: [
                "BenchmarkFixtures", .product(name: "EventLog", package: "Tally"),
                .product(name: "Tally", package: "Tally"),
                .product(name: "Billing", package: "Tally"),
            ],
            path: "Sources/ProfileWorkloads",
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        .executableTarget(
            name: "EventLogBenchmarks",
            dependencies: [
                "BenchmarkFixtures",
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "EventLog", package: "Tally"),
                .product(name: "LMDB", package: "Tally"),
            ],
            path: "Benchmarks/EventLogBenchmarks",
            swiftSettings: [.swiftLanguageMode(.v6)],
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "EngineBenchmarks",
            dependencies: [
                "BenchmarkFixtures",
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "EventLog", package: "Tally"),
                .product(name: "LMDB", package: "Tally"),
                .product(name: "Tally", package: "Tally"),
                .product(name: "TallyCommands", package: "Tally"),
            ],
            path: "Benchmarks/EngineBenchmarks",
            swiftSettings: [.swiftLanguageMode(.v6)],
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
