// swift-tools-version: 6.1
import PackageDescription

// The kernels' hot loops must compile to AVX2 + FMA: on baseline x86-64 Swift's SIMD fma
// becomes a libm call per lane (20x slower, measured). Other architectures use their defaults.
// Debug builds optimize the numeric modules too: unoptimized SIMD code runs the models two orders of
// magnitude slower, which would make the tests that run real models (and `swift test` in CI) crawl.
let optimizedInDebug: [SwiftSetting] = [.unsafeFlags(["-O"], .when(configuration: .debug))]
#if arch(x86_64)
let vectorFlags: [SwiftSetting] = [.unsafeFlags(["-target-cpu", "haswell"])] + optimizedInDebug
let cVectorFlags: [CSetting] = [.unsafeFlags(["-O3", "-mavx2", "-mfma", "-mf16c"])]
#else
let vectorFlags: [SwiftSetting] = optimizedInDebug
let cVectorFlags: [CSetting] = [.unsafeFlags(["-O3"])]
#endif

let package = Package(
    name: "Understudy",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "understudy", targets: ["understudy"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CJSONC", pkgConfig: "json-c",
                       providers: [.apt(["libjson-c-dev"])]),
        // The quantized products need vpmaddubsw (and vpdpbusd, compiled per function for AVX-512 VNNI and
        // chosen at run time), which Swift's SIMD types cannot express (measured).
        .target(name: "CKernels", cSettings: cVectorFlags),
        .target(name: "Kernels", dependencies: ["COpenBLAS", "CKernels"], swiftSettings: vectorFlags),
        .target(name: "Model", dependencies: ["Kernels"], swiftSettings: vectorFlags),
        .target(name: "Training", dependencies: ["Model", "Kernels"], exclude: ["Corpus/README.md", "Trainer/README.md", "Distillation/README.md"],
                swiftSettings: vectorFlags),
        .target(name: "JSONRPC", dependencies: ["CJSONC"]),
        .target(
            name: "LanguageServer",
            dependencies: [
                "JSONRPC", "Model",
                .product(name: "Logging", package: "swift-log"),
            ]),
        // The embedded student (model card: models/README.md). The whole directory is the resource so
        // that a checkout without the model file still builds.
        .target(name: "DefaultModel", resources: [.copy("Resources")]),
        .executableTarget(
            name: "understudy",
            dependencies: [
                "DefaultModel", "Kernels", "Model", "Training", "JSONRPC", "LanguageServer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: vectorFlags),
        // Fixtures every test target shares (vocabularies, generated models, temporary paths).
        .target(name: "TestFixtures", dependencies: ["Model", "Kernels"], path: "Tests/TestFixtures"),
        .testTarget(name: "KernelsTests", dependencies: ["Kernels", "CKernels", "Model"], swiftSettings: vectorFlags),
        .testTarget(name: "ModelTests", dependencies: ["Model", "Kernels", "TestFixtures"], swiftSettings: vectorFlags),
        .testTarget(name: "TrainingTests", dependencies: ["Training", "Model", "Kernels", "TestFixtures"], swiftSettings: vectorFlags),
        .testTarget(name: "EndToEndTests", dependencies: ["understudy", "Model", "Kernels", "TestFixtures"]),
        .testTarget(name: "JSONRPCTests", dependencies: ["JSONRPC", "Model"]),
        .testTarget(
            name: "LanguageServerTests",
            dependencies: ["LanguageServer", "JSONRPC", "Model", "TestFixtures",
                           .product(name: "Logging", package: "swift-log")]),
    ]
)
