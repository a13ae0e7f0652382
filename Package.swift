// swift-tools-version:6.1
import PackageDescription

/// Settings every Swift target shares: strict existentials and explicit imports keep the layers honest.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "canvaswire",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "canvaswire", targets: ["canvaswire"]),
        .library(name: "CanvasWireCore", targets: ["CanvasWireCore"]),
        .library(name: "CanvasWirePNG", targets: ["CanvasWirePNG"]),
        .library(name: "CanvasWireServer", targets: ["CanvasWireServer"]),
        .library(name: "CanvasWireClient", targets: ["CanvasWireClient"]),
        .library(name: "CanvasWireWebSocket", targets: ["CanvasWireWebSocket"]),
        .library(name: "CanvasWireTransfer", targets: ["CanvasWireTransfer"]),
        .library(name: "CanvasWireBench", targets: ["CanvasWireBench"]),
        .library(name: "CanvasWireNATS", targets: ["CanvasWireNATS"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
        .package(url: "https://github.com/adam-fowler/compress-nio.git", from: "1.5.0"),
    ],
    targets: [
        // Wire format, frame types, limits and errors. No networking, no C.
        .target(name: "CanvasWireCore", swiftSettings: swiftSettings),

        // libpng through pkg-config; the C codec owns every setjmp so a longjmp never crosses Swift.
        .systemLibrary(name: "CLibPNG", pkgConfig: "libpng", providers: [.apt(["libpng-dev"])]),
        .target(name: "CPNGCodec", dependencies: ["CLibPNG"]),
        .target(
            name: "CanvasWirePNG",
            dependencies: ["CanvasWireCore", "CPNGCodec"],
            swiftSettings: swiftSettings
        ),

        // RFC 6455 for both sides: frame codecs, masking, the endpoint state machine and its NIO glue.
        .target(
            name: "CanvasWireWebSocket",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "CanvasWireServer",
            dependencies: [
                "CanvasWireCore",
                "CanvasWirePNG",
                "CanvasWireWebSocket",
                "CanvasWireNATS",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            resources: [
                .embedInCode("Pages/index.html"), .embedInCode("Pages/send.html"),
                // PageScript: the pages' scripts, each served at /NAME.
                .embedInCode("Pages/canvaswire.js"), .embedInCode("Pages/viewer.js"),
                .embedInCode("Pages/frame-canvas.js"), .embedInCode("Pages/stream-list.js"),
                .embedInCode("Pages/send.js"), .embedInCode("Pages/frame-source.js"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "CanvasWireClient",
            dependencies: [
                "CanvasWireCore",
                "CanvasWireWebSocket",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Sending and receiving files, folders and stdin streams: what `send`, `receive` and
        // `convert` do, usable without the binary.
        .target(
            name: "CanvasWireTransfer",
            dependencies: [
                "CanvasWireCore",
                "CanvasWirePNG",
                "CanvasWireClient",
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // The load generator behind `canvaswire bench`, with its verified payloads and /proc figures.
        .target(
            name: "CanvasWireBench",
            dependencies: [
                "CanvasWireCore",
                "CanvasWireServer",
                "CanvasWireClient",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            swiftSettings: swiftSettings
        ),
        // Parses options, builds a configuration, calls one library function and prints.
        // A small NATS client (core NATS and the JetStream key-value subset the cluster relay needs).
        // No dependency on the other CanvasWire modules: the relay builds on it, not the reverse.
        .target(
            name: "CanvasWireNATS",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "canvaswire",
            dependencies: [
                "CanvasWireCore",
                "CanvasWirePNG",
                "CanvasWireServer",
                "CanvasWireClient",
                "CanvasWireTransfer",
                "CanvasWireBench",
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),

        .testTarget(name: "CanvasWireCoreTests", dependencies: ["CanvasWireCore"], swiftSettings: swiftSettings),
        .testTarget(
            name: "CanvasWireWebSocketTests",
            dependencies: [
                "CanvasWireWebSocket",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CanvasWireServerTests",
            dependencies: [
                "CanvasWireServer",
                "CanvasWireCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CanvasWireClientTests",
            dependencies: [
                "CanvasWireClient",
                "CanvasWireServer",
                "CanvasWireCore",
                "CanvasWireWebSocket",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CanvasWireTransferTests",
            dependencies: [
                "CanvasWireTransfer",
                "CanvasWireClient",
                "CanvasWireServer",
                "CanvasWirePNG",
                "CanvasWireCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CanvasWireCLITests",
            dependencies: [
                "canvaswire",
                "CanvasWireTransfer",
                "CanvasWireBench",
                "CanvasWireServer",
                "CanvasWireClient",
                "CanvasWirePNG",
                "CanvasWireCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CanvasWireNATSTests",
            dependencies: [
                "CanvasWireNATS",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CanvasWirePNGTests",
            dependencies: ["CanvasWirePNG", "CanvasWireCore"],
            swiftSettings: swiftSettings
        ),
    ]
)

// The benchmarks stay out of the default graph; tools/bench/png-codec (and tools/bench/nats) build them with
// CANVASWIRE_BENCHMARKS=1 swift build -c release --scratch-path .build-bench
if Context.environment["CANVASWIRE_BENCHMARKS"] == "1" {
    package.targets.append(
        .executableTarget(
            name: "canvaswire-codec-bench",
            dependencies: ["CanvasWireCore", "CanvasWirePNG", "CanvasWireBench"],
            path: "Sources/CodecBenchmark",
            swiftSettings: swiftSettings
        )
    )
    // tools/bench/nats: publish throughput through a local nats-server.
    package.targets.append(
        .executableTarget(
            name: "canvaswire-nats-bench",
            dependencies: [
                "CanvasWireNATS",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/NATSBenchmark",
            swiftSettings: swiftSettings
        )
    )
}

// libFuzzer targets stay out of the default graph too; tools/fuzz builds each with
// CANVASWIRE_FUZZ=1 swift build --sanitize=fuzzer --sanitize=address --scratch-path .build-fuzz
if Context.environment["CANVASWIRE_FUZZ"] == "1" {
    let fuzzTargets: [(name: String, folder: String, dependencies: [Target.Dependency])] = [
        ("fuzz-frame-reader", "FrameReader", ["CanvasWireCore"]),
        ("fuzz-control-message", "ControlMessage", ["CanvasWireCore"]),
        ("fuzz-png", "PNG", ["CanvasWireCore", "CanvasWirePNG"]),
        ("fuzz-request", "Request", ["CanvasWireServer", "CanvasWireClient"]),
        ("fuzz-frame-decoder", "FrameDecoder", ["CanvasWireWebSocket"]),
        ("fuzz-delta", "Delta", ["CanvasWireCore"]),
        ("fuzz-nats-parser", "NATSParser", ["CanvasWireNATS"]),
    ]
    for target in fuzzTargets {
        package.targets.append(
            .executableTarget(
                name: target.name,
                dependencies: target.dependencies,
                path: "Sources/Fuzz/\(target.folder)",
                swiftSettings: swiftSettings
            )
        )
    }
}
