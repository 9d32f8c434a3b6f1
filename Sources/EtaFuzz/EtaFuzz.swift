import Foundation

// EtaFuzz fuzzes one parser of untrusted input (FuzzTarget), in one of two builds.
//
// libFuzzer with AddressSanitizer (tools/fuzz.sh: `ETA_LIBFUZZER=1 swift build --product EtaFuzz`, which
// instruments the parsers' modules; see Package.swift):
//     ETA_FUZZ_TARGET=csv EtaFuzz [libFuzzer flags] CORPUS...
// Any other build: a seeded mutation driver over the corpus files, for machines where libFuzzer does not build:
//     EtaFuzz TARGET CORPUS_DIR [--runs N] [--seed S]

/// A per-process scratch folder for the files a target reads, removed at exit.
let scratch: URL = {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("eta-fuzz-\(getpid())")
    try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    atexit { try? FileManager.default.removeItem(at: scratch) }
    return url
}()

#if ETA_LIBFUZZER
/// The target libFuzzer runs, from ETA_FUZZ_TARGET (libFuzzer owns the command line).
let libFuzzerTarget: FuzzTarget = {
    let name = ProcessInfo.processInfo.environment["ETA_FUZZ_TARGET"] ?? ""
    guard let target = FuzzTarget(rawValue: name) else {
        let message =
            "EtaFuzz: set ETA_FUZZ_TARGET to one of "
            + "\(FuzzTarget.allCases.map(\.rawValue).joined(separator: ", "))\n"
        FileHandle.standardError.write(Data(message.utf8))
        exit(64)
    }
    return target
}()

/// libFuzzer's driver, for a program that keeps its own entry point (compiler-rt's FuzzerInterface.h).
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

/// One input; libFuzzer's own `main` (linked, though SwiftPM's entry point below wins) names this symbol too.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    libFuzzerTarget.run(data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [], scratch: scratch)
    return 0
}

/// SwiftPM links an executable's `main` to `<module>_main`, so that is where libFuzzer's driver starts.
@_cdecl("EtaFuzz_main")
public func libFuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    var argc = argc
    var argv = argv
    _ = libFuzzerTarget
    return LLVMFuzzerRunDriver(&argc, &argv) { data, size in fuzzOneInput(data, size) }
}
#else
@main
enum EtaFuzzCommand {
    static func main() {
        exit(MutationDriver.main(Array(CommandLine.arguments.dropFirst()), scratch: scratch))
    }
}
#endif
