// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Eta",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "eta", targets: ["EtaCLI"]),
        .library(name: "Eta", targets: ["Eta"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // System libraries: one module map and one shim header each.
        .systemLibrary(
            name: "COpenCL",
            pkgConfig: "OpenCL",
            providers: [.apt(["ocl-icd-opencl-dev", "opencl-headers"])]
        ),
        // Hot CPU loops in C: runtime CPU dispatch (target_clones) reaches the memory wall without unsafe flags.
        .target(name: "CEtaCPU"),
        // Kernels/*.cl, embedded as Swift string literals by the EmbedKernels plugin.
        .target(
            name: "EtaKernelSources",
            path: "Kernels",
            plugins: ["EmbedKernels"]
        ),
        .plugin(
            name: "EmbedKernels",
            capability: .buildTool(),
            dependencies: ["KernelEmbedder"],
            path: "Plugins/EmbedKernels"
        ),
        .executableTarget(name: "KernelEmbedder"),
        // The OpenCL runtime layer: the only importer of COpenCL.
        .target(name: "EtaCL", dependencies: ["COpenCL"]),
        // Above the Backend seam: arena, optimizers, Reference, objectives, verification.
        .target(name: "EtaCore"),
        .target(name: "EtaCPU", dependencies: ["EtaCore", "CEtaCPU"]),
        .target(name: "EtaOpenCL", dependencies: ["EtaCore", "EtaCL", "EtaKernelSources"]),
        // What a Swift user imports: everything above plus device selection.
        .target(name: "Eta", dependencies: ["EtaCore", "EtaCPU", "EtaOpenCL", "EtaCL"]),
        .executableTarget(
            name: "EtaCLI",
            dependencies: ["Eta", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .testTarget(name: "EtaCoreTests", dependencies: ["EtaCore"]),
        .testTarget(name: "EtaCLTests", dependencies: ["EtaCL"]),
        .testTarget(name: "EtaBackendTests", dependencies: ["Eta"], resources: [.copy("Fixtures")]),
        // Depends on the executable so `swift test` builds `eta` before running it.
        .testTarget(name: "EtaCLITests", dependencies: ["Eta", "EtaCLI"]),
    ],
    swiftLanguageModes: [.v5]
)
