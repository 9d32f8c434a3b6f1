import Foundation

// EtaFuzz: fuzzes one parser of untrusted input (FuzzTarget), in one of two builds.
//
// libFuzzer (tools/fuzz.sh builds it with `--sanitize=fuzzer --sanitize=address -Xswiftc -DETA_LIBFUZZER`):
//     ETA_FUZZ_TARGET=csv EtaFuzz [libFuzzer flags] CORPUS...
// Plain (any build): a seeded mutation driver over the corpus files, for machines without libFuzzer:
//     EtaFuzz TARGET CORPUS_DIR [--runs N] [--seed S]

/// A per-process scratch folder for the files a target reads, removed at exit.
let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("eta-fuzz-\(getpid())")
try? FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
atexit { try? FileManager.default.removeItem(at: scratch) }

#if ETA_LIBFUZZER
/// libFuzzer's entry when the program keeps its own `main` (compiler-rt's FuzzerInterface).
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

let environmentTarget = ProcessInfo.processInfo.environment["ETA_FUZZ_TARGET"] ?? ""
guard let libFuzzerTarget = FuzzTarget(rawValue: environmentTarget) else {
    FileHandle.standardError.write(Data("EtaFuzz: set ETA_FUZZ_TARGET to one of \(FuzzTarget.allCases.map(\.rawValue).joined(separator: ", "))\n".utf8))
    exit(64)
}
var argc = CommandLine.argc
var argv = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in
    libFuzzerTarget.run(data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [], scratch: scratch)
    return 0
})
#else
exit(MutationDriver.main(Array(CommandLine.arguments.dropFirst()), scratch: scratch))
#endif
