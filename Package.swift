// swift-tools-version:6.2
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "miles-collections-adapter",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "miles-adapter", targets: ["MilesAdapterCLI"]),
        .executable(name: "miles-mock", targets: ["miles-mock"]),
        .executable(name: "miles-demo", targets: ["MilesDemo"]),
        .executable(name: "miles-adapter-bench", targets: ["MilesAdapterBench"]),
        .executable(name: "miles-fuzz", targets: ["MilesFuzz"]),
        .executable(name: "miles-chaos", targets: ["MilesChaos"]),
        .library(name: "MilesSync", targets: ["MilesSync"]),
        .library(name: "MilesMock", targets: ["MilesMock"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-configuration.git", from: "1.4.0", traits: [.defaults, "YAML"]),
        .package(url: "https://github.com/apple/swift-system.git", from: "1.8.1"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/yaslab/CSV.swift.git", from: "2.5.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
    ],
    targets: [
        // C libraries, through pkg-config.
        .systemLibrary(
            name: "CLibXML2",
            pkgConfig: "libxml-2.0",
            providers: [.apt(["libxml2-dev"])]
        ),
        .systemLibrary(
            name: "CCurl",
            pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]
        ),

        // glibc's malloc arena cap, which `miles-adapter ingest` sets (C: mallopt is not in Swift's Glibc).
        .target(name: "CMallocTuning"),

        // The collections model and its rules: pure Swift, no I/O.
        .target(name: "CollectionsDomain", swiftSettings: swiftSettings),

        // SOAP 1.1, WS-Security, the hardened streaming XML reader, the libcurl transport.
        .target(
            name: "MilesSOAP",
            dependencies: [
                "CLibXML2", "CCurl",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),

        // mappings/*.yaml -> checked, compiled decoders and encoders.
        .target(
            name: "MilesMapping",
            dependencies: ["MilesSOAP", "CollectionsDomain", .product(name: "Yams", package: "Yams")],
            swiftSettings: swiftSettings
        ),

        // The narrow, async store protocols, one per feature, with their models: no implementation.
        .target(
            name: "CollectionsStore",
            dependencies: ["CollectionsDomain", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings
        ),

        // The store for several workers and machines: PostgreSQL through PostgresNIO.
        .target(
            name: "CollectionsStorePostgres",
            dependencies: [
                "CollectionsStore", "CollectionsDomain",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),

        // The embedded default store: SQLite through GRDB (raw sqlite3 only on measured hot paths).
        .target(
            name: "CollectionsStoreSQLite",
            dependencies: [
                "CollectionsStore", "CollectionsDomain",
                .product(name: "GRDB", package: "GRDB.swift"), .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),

        // The one in-process Hummingbird start-up, shared by the agents' endpoint, the mock and tests.
        .target(
            name: "HTTPServing",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),

        // The desks (decisions) and the jobs: contract sync, the outbox relay, placements, ingestion.
        .target(
            name: "MilesSync",
            dependencies: [
                "MilesSOAP", "MilesMapping", "CollectionsStore", "CollectionsDomain",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CSV", package: "CSV.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
            ],
            swiftSettings: swiftSettings
        ),

        // The collections workspace: server-rendered pages for signed-in people, served beside the agents' API.
        .target(
            name: "Workspace",
            dependencies: [
                "MilesSync", "HTTPServing", "CollectionsStore", "CollectionsDomain", "MilesMapping",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),

        // Agents' HTTP endpoint (`miles-adapter serve`).
        .target(
            name: "AgentAPI",
            dependencies: [
                "MilesSync", "HTTPServing", "CollectionsStore", "CollectionsDomain",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: swiftSettings
        ),

        .executableTarget(
            name: "MilesAdapterCLI",
            dependencies: [
                "MilesSync", "AgentAPI", "Workspace", "CollectionsDomain", "CollectionsStore", "CollectionsStoreSQLite", "CollectionsStorePostgres",
                "MilesMapping", "MilesSOAP", "HTTPServing",
                "CMallocTuning",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            swiftSettings: swiftSettings
        ),

        // The stateful mock MILES.
        .target(
            name: "MilesMock",
            dependencies: [
                "MilesSOAP", "CollectionsDomain", "HTTPServing",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "mock-server/Sources/MilesMock",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "miles-mock",
            dependencies: [
                "MilesMock",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "mock-server/Sources/miles-mock",
            // The MILES contract it serves, so miles-mock answers ?wsdl from any folder: a copy of mappings/wsdl
            // (resources cannot live outside the target; MockContractTests keeps the two the same).
            resources: [.copy("contract")],
            swiftSettings: swiftSettings
        ),

        // `make demo`: starts a mock MILES in this process and runs the nightly story with `miles-adapter`.
        .executableTarget(
            name: "MilesDemo",
            dependencies: [
                "MilesMock", "CollectionsDomain",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Demo/MilesDemo",
            swiftSettings: swiftSettings
        ),

        .executableTarget(
            name: "MilesAdapterBench",
            dependencies: [
                "MilesSync", "MilesMock", "MilesMapping", "MilesSOAP", "CLibXML2", "CollectionsDomain", "CollectionsStore", "CollectionsStoreSQLite",
                "CollectionsStorePostgres",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Benchmarks/MilesAdapterBench",
            swiftSettings: swiftSettings
        ),

        // The chaos run (`make chaos`): random faults and SIGKILLs, then every check.
        .executableTarget(
            name: "MilesChaos",
            dependencies: [
                "MilesSync", "MilesMock", "MilesMapping", "CollectionsStore", "CollectionsStoreSQLite", "CollectionsStorePostgres", "CollectionsDomain",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            path: "Chaos/MilesChaos",
            swiftSettings: swiftSettings
        ),

        // libFuzzer harness over the streaming reader and the contract decoder (`make fuzz`).
        .executableTarget(
            name: "MilesFuzz",
            dependencies: ["MilesSOAP", "MilesMapping"],
            path: "Fuzz/MilesFuzz",
            swiftSettings: swiftSettings
        ),

        .testTarget(name: "CollectionsDomainTests", dependencies: ["CollectionsDomain"], swiftSettings: swiftSettings),
        .testTarget(name: "MilesSOAPTests", dependencies: ["MilesSOAP", "CLibXML2"], swiftSettings: swiftSettings),
        .testTarget(
            name: "MilesMappingTests",
            dependencies: ["MilesMapping", "MilesMock", "CollectionsDomain"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MilesSyncTests",
            dependencies: ["TestSupport", "MilesSync", "MilesMapping", "CollectionsStore", "CollectionsDomain"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MilesMockTests",
            dependencies: ["MilesMock", "MilesSOAP", "MilesMapping"],
            swiftSettings: swiftSettings
        ),
        // What the test suites share: the stores they run on, a fresh database of each, a MILES mapped in part.
        .target(
            name: "TestSupport",
            dependencies: [
                "CollectionsDomain", "CollectionsStore", "CollectionsStoreSQLite", "CollectionsStorePostgres",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/TestSupport",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "StoreTests",
            dependencies: [
                "TestSupport", "CollectionsStore", "CollectionsStoreSQLite", "CollectionsStorePostgres", "CollectionsDomain",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "EndToEndTests",
            dependencies: [
                "TestSupport", "MilesSync", "MilesMock", "CollectionsStore", "CollectionsStoreSQLite", "CollectionsStorePostgres", "MilesMapping",
                "CollectionsDomain",
                "MilesSOAP",
                "AgentAPI", "HTTPServing", "Workspace",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Hummingbird", package: "hummingbird"),
            ],
            exclude: ["Golden"],
            swiftSettings: swiftSettings
        ),
    ]
)
