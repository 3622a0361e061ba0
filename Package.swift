// swift-tools-version: 6.1
import PackageDescription

// Layers, lowest first; a layer never imports one above it (each module's README says what it may import):
// CTallyLMDB -> LMDB -> EventLog -> BillingEvents -> Projections -> ReadModels -> Tally -> TallyCommands
// -> TallyCLI. Billing is the pure domain beside them; TallySupport is shared machinery below them all.
let strictSwift: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "Tally",
    platforms: [.macOS(.v15)],
    products: [
        // What a user links: the engine, and the layers a custom adapter or read model builds on.
        .library(name: "Tally", targets: ["Tally"]),
        .library(name: "TallyCommands", targets: ["TallyCommands"]),
        .library(name: "EventLog", targets: ["EventLog"]),
        .library(name: "Billing", targets: ["Billing"]),
        .library(name: "Payments", targets: ["Payments"]),
        .library(name: "Projections", targets: ["Projections"]),
        // The wrapper a custom projector declares its databases with, and the benchmarks' baseline.
        .library(name: "LMDB", targets: ["LMDB"]),
        .executable(name: "tally", targets: ["TallyCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CTallyLMDB",
            pkgConfig: "lmdb",
            providers: [.apt(["liblmdb-dev"]), .brew(["lmdb"])]
        ),
        // A tiny C target for the CPU's prefetch hint, which Swift cannot spell.
        .target(name: "CTallyPrefetch"),
        // Machinery the domain modules share, never a product: helper threads, protobuf wire
        // readers and writers, key writers, the record JSON encoder.
        .target(
            name: "TallySupport",
            dependencies: [.product(name: "SwiftProtobuf", package: "swift-protobuf")],
            exclude: ["README.md"],
            swiftSettings: strictSwift
        ),
        .target(
            name: "LMDB",
            dependencies: ["CTallyLMDB"],
            exclude: ["README.md"],
            swiftSettings: strictSwift
        ),
        .target(
            name: "EventLog",
            dependencies: [
                "LMDB", "TallySupport",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            exclude: ["README.md"],
            swiftSettings: strictSwift
        ),
        // The pure billing domain: money, prices, periods, proration. No I/O, no LMDB.
        .target(
            name: "Billing",
            exclude: ["README.md"],
            swiftSettings: strictSwift
        ),
        // The billing events' payloads (generated from schemas/) and their type names.
        // Payment gateways: the protocol a network gateway implements, and an in-process one.
        .target(name: "Payments", dependencies: ["Billing"], exclude: ["README.md"], swiftSettings: strictSwift),
        .target(
            name: "BillingEvents",
            dependencies: ["Billing", "EventLog", "TallySupport", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
            exclude: ["README.md"],
            swiftSettings: strictSwift
        ),
        // Read models folded from the log inside its append transactions; rebuild and as-of.
        .target(
            name: "Projections",
            dependencies: ["EventLog", "LMDB", "TallySupport", "CTallyPrefetch"],
            exclude: ["README.md"],
            swiftSettings: strictSwift
        ),
        // The billing read models: projectors over the billing events.
        .target(
            name: "ReadModels",
            dependencies: [
                "Projections", "Billing", "BillingEvents", "EventLog", "LMDB", "TallySupport",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            exclude: ["README.md"],
            swiftSettings: strictSwift
        ),
        // The public engine: commands in, validated inside the append, events out; queries.
        .target(
            name: "Tally",
            dependencies: [
                "ReadModels", "Projections", "Billing", "BillingEvents", "EventLog", "LMDB", "TallySupport", "Payments",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            exclude: ["README.md"],
            swiftSettings: strictSwift
        ),
        // The shared command layer: the command schema, the dispatcher, every query's stable
        // rows and the export format, so that the CLI and the server answer from the same code.
        .target(
            name: "TallyCommands",
            dependencies: [
                "Tally", "Billing", "BillingEvents", "EventLog", "TallySupport",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            exclude: ["README.md"],
            swiftSettings: strictSwift
        ),
        .executableTarget(
            name: "TallyCLI",
            dependencies: [
                "EventLog", "Billing", "BillingEvents", "Tally", "TallyCommands", "Payments",
                .product(name: "ArgumentParser", package: "swift-argument-parser"), .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            exclude: ["README.md"],
            swiftSettings: strictSwift
        ),
        // A helper the crash and multi-process tests run as real child processes.
        .executableTarget(
            name: "TallyTestProbe",
            dependencies: ["EventLog"],
            path: "Tests/TallyTestProbe",
            swiftSettings: strictSwift
        ),
        // Helpers every test target shares: seeded randomness, temporary directories, built tools.
        .target(
            name: "TallyTestSupport",
            path: "Tests/TallyTestSupport",
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "LMDBTests",
            dependencies: ["LMDB", "TallySupport", "TallyTestProbe", "TallyTestSupport"],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "EventLogTests",
            dependencies: ["EventLog", "LMDB", "TallySupport", "TallyTestProbe", "TallyTestSupport"],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "BillingTests",
            dependencies: ["Billing", "BillingEvents", "EventLog", "TallyTestSupport"],
            swiftSettings: strictSwift
        ),
        .testTarget(name: "TallySupportTests", dependencies: ["ReadModels", "TallySupport", "TallyTestSupport"], swiftSettings: strictSwift),
        .testTarget(name: "PaymentsTests", dependencies: ["Payments", "Billing"], swiftSettings: strictSwift),
        .testTarget(
            name: "ProjectionsTests",
            dependencies: ["Projections", "EventLog", "LMDB", "TallyTestSupport"],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "TallyTests",
            dependencies: [
                "Tally", "ReadModels", "Billing", "BillingEvents", "EventLog", "Payments", "TallySupport", "TallyTestSupport",
            ],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "TallyCommandsTests",
            dependencies: ["TallyCommands", "Tally", "BillingEvents", "EventLog", "TallyTestSupport"],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "TallyCLITests",
            dependencies: ["EventLog", "LMDB", "Tally", "TallyCLI", "TallyTestSupport"],
            swiftSettings: strictSwift
        ),
    ]
)
