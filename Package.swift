// swift-tools-version:6.0
import Foundation
import PackageDescription

/// `ETA_LIBFUZZER=1` (tools/fuzz.sh, in its own --scratch-path) builds EtaFuzz for libFuzzer: the modules that
/// parse untrusted input get coverage instrumentation and AddressSanitizer, and EtaFuzz links libFuzzer's main.
/// Per target rather than `--sanitize=fuzzer`, which would also build the plugin's tool as a library.
let libFuzzer = ProcessInfo.processInfo.environment["ETA_LIBFUZZER"] != nil
let fuzzed: [SwiftSetting] = libFuzzer ? [.unsafeFlags(["-sanitize=fuzzer,address"])] : []

let package = Package(
    name: "Eta",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "eta", targets: ["EtaCLI"]),
        .library(name: "Eta", targets: ["Eta"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // TensorBoard event files: the runtime only (the generated code is committed: tools/generate-protos.sh).
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
        // Property-based round-trip tests only (a test dependency).
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.1"),
    ],
    targets: [
        // System libraries: one module map and one shim header each.
        .systemLibrary(
            name: "COpenCL",
            pkgConfig: "OpenCL",
            providers: [.apt(["ocl-icd-opencl-dev", "opencl-headers"])]
        ),
        // OpenBLAS's header only: EtaCPU loads the library at run time (see OpenBLAS.swift).
        .systemLibrary(name: "CBLAS", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CCLBlast", providers: [.apt(["libclblast-dev"])]),
        // Hot CPU loops in C: runtime CPU dispatch (target_clones) reaches the memory wall without unsafe flags.
        .target(name: "CEtaCPU"),
        // Kernels/*.cl, embedded as Swift string literals by the EmbedKernels plugin.
        .target(
            name: "EtaKernelSources",
            path: "Kernels",
            plugins: ["EmbedKernels"]
        ),
        // Data/*.csv and *.gz (base64): the built-in datasets, embedded the same way (attribution: Data/NOTICE.md).
        .target(
            name: "EtaDatasets",
            path: "Data",
            exclude: [
                "NOTICE.md", "LICENSE-scikit-learn.txt", "digits.rst", "iris.rst", "breast_cancer.rst", "wine_data.rst",
                "diabetes.rst",
            ],
            plugins: ["EmbedKernels"]
        ),
        .systemLibrary(name: "CZlib", providers: [.apt(["zlib1g-dev"])]),
        // Open MPI (Debian libopenmpi-dev): the shim returns the predefined handles Swift cannot import.
        .systemLibrary(name: "CMPI", pkgConfig: "ompi-c", providers: [.apt(["libopenmpi-dev"])]),
        .plugin(
            name: "EmbedKernels",
            capability: .buildTool(),
            dependencies: ["KernelEmbedder"],
            path: "Plugins/EmbedKernels"
        ),
        .executableTarget(name: "KernelEmbedder"),
        // SHA-256 and atomic file writes, shared by the runtime (program cache) and the core (checkpoints).
        .target(name: "EtaSupport", swiftSettings: fuzzed),
        // The OpenCL runtime layer: the only importer of COpenCL.
        .target(name: "EtaCL", dependencies: ["COpenCL", "CCLBlast", "EtaSupport"], swiftSettings: fuzzed),
        // The Backend seam: the protocol, buffers and the commands a backend runs. Both backends see only this.
        .target(name: "EtaBackend", swiftSettings: fuzzed),
        // Above the seam: arena, optimizers, schedules, data, training, LR tools, Reference, verification.
        .target(
            name: "EtaCore", dependencies: ["EtaBackend", "EtaDatasets", "CZlib", "EtaSupport"], swiftSettings: fuzzed),
        .target(name: "EtaCPU", dependencies: ["EtaBackend", "CEtaCPU", "CBLAS"]),
        .target(name: "EtaOpenCL", dependencies: ["EtaBackend", "EtaCL", "EtaKernelSources"]),
        // Distributed runs under mpirun: EtaCore's ProcessGroup over MPI_COMM_WORLD.
        .target(name: "EtaMPI", dependencies: ["CMPI", "EtaBackend", "EtaCore"]),
        // TensorBoard event files (TFRecord framing of swift-protobuf messages generated from tools/protos).
        .target(
            name: "EtaTensorBoard",
            dependencies: ["EtaCore", .product(name: "SwiftProtobuf", package: "swift-protobuf")]),
        // ONNX export (swift-protobuf messages generated from tools/protos).
        .target(
            name: "EtaONNX",
            dependencies: ["EtaCore", "EtaCPU", .product(name: "SwiftProtobuf", package: "swift-protobuf")]),
        // What a Swift user imports: everything above plus device selection.
        .target(
            name: "Eta",
            dependencies: [
                "EtaBackend", "EtaCore", "EtaCPU", "EtaOpenCL", "EtaCL", "EtaMPI", "EtaSupport", "EtaKernelSources",
                "EtaTensorBoard", "EtaONNX",
            ]),
        .executableTarget(
            name: "EtaCLI",
            dependencies: ["Eta", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        // Fuzz entry points over the parsers of untrusted input (tools/fuzz.sh): libFuzzer or a seeded mutation driver.
        .executableTarget(
            name: "EtaFuzz",
            dependencies: ["EtaCore", "EtaCL"],
            swiftSettings: fuzzed + (libFuzzer ? [.define("ETA_LIBFUZZER")] : []),
            linkerSettings: libFuzzer ? [.unsafeFlags(["-sanitize=fuzzer,address", "-use-ld=lld"])] : []
        ),
        .testTarget(
            name: "EtaCoreTests",
            dependencies: ["EtaCore", .product(name: "PropertyBased", package: "swift-property-based")],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(name: "EtaCLTests", dependencies: ["EtaCL", "EtaSupport"]),
        .testTarget(name: "EtaBackendTests", dependencies: ["Eta"], resources: [.copy("Fixtures")]),
        // Depends on the executable so `swift test` builds `eta` before running it.
        .testTarget(name: "EtaCLITests", dependencies: ["Eta", "EtaCLI"]),
    ],
    swiftLanguageModes: [.v6]
)
