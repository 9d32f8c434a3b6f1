import CBLAS
import EtaBackend
import Foundation

/// OpenBLAS, loaded at run time so its kernel set can be chosen first.
///
/// Debian 12's OpenBLAS (0.3.21) does not recognise newer x86 CPUs and falls back to its generic "Prescott"
/// kernels, 3 to 5 times slower than its AVX-512 ones (measured: a 784-256-256-10 training step at batch 256
/// took 10.5 ms instead of 2.8 ms). OpenBLAS reads `OPENBLAS_CORETYPE` when it loads, so Eta sets it from
/// the CPU's features (unless the user already has) and then loads the library; `OPENBLAS_THREAD_TIMEOUT` likewise
/// (see `load()`).
enum OpenBLAS {
    typealias SGEMM =
        @convention(c) (
            CBLAS_ORDER, CBLAS_TRANSPOSE, CBLAS_TRANSPOSE, blasint, blasint, blasint, Float,
            UnsafePointer<Float>?, blasint, UnsafePointer<Float>?, blasint, Float,
            UnsafeMutablePointer<Float>?, blasint
        ) -> Void
    typealias SetThreads = @convention(c) (Int32) -> Void
    typealias CoreName = @convention(c) () -> UnsafePointer<CChar>?

    struct Library {
        let sgemm: SGEMM
        let setThreads: SetThreads
        let coreName: String
    }

    /// The loaded library, or why it could not be loaded.
    static let shared: Result<Library, EtaError> = load()
    /// Held around every GEMM call: the thread count that batched GEMMs change is the library's, not the caller's.
    static let lock = NSLock()

    /// The kernel set to ask for: the newest this CPU supports.
    static func preferredCore() -> String? {
        #if arch(x86_64)
        if cpuSupports("avx512f") && cpuSupports("avx512bw") && cpuSupports("avx512dq") && cpuSupports("avx512vl") {
            return "SkylakeX"
        }
        if cpuSupports("avx2") && cpuSupports("fma") { return "Haswell" }
        #endif
        return nil
    }

    private static func cpuSupports(_ feature: String) -> Bool {
        guard
            let flags = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
                .split(separator: "\n").first(where: { $0.hasPrefix("flags") })
        else { return false }
        return flags.split(separator: " ").contains { $0 == feature }
    }

    private static func load() -> Result<Library, EtaError> {
        if ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] == nil, let core = preferredCore() {
            setenv("OPENBLAS_CORETYPE", core, 0)
        }
        // OpenBLAS's idle worker threads spin for 2^28 cycles by default before sleeping: between two GEMMs they held
        // the cores the backend's own loops run on (im2col, pooling, softmax, layer norm), so a CNN step took 36 ms
        // and a GPT step 225 ms instead of 30 and 168 (2 cores, `eta bench --model`). The shortest wait (2^4)
        // gives the cores back at once; a GEMM's wake-up costs far less.
        if ProcessInfo.processInfo.environment["OPENBLAS_THREAD_TIMEOUT"] == nil {
            setenv("OPENBLAS_THREAD_TIMEOUT", "4", 0)
        }
        guard
            let handle = dlopen("libopenblas.so.0", RTLD_NOW | RTLD_GLOBAL)
                ?? dlopen("libopenblas.so", RTLD_NOW | RTLD_GLOBAL)
        else {
            return .failure(
                EtaError(
                    .unavailable,
                    "OpenBLAS could not be loaded (\(String(cString: dlerror()))); install it: apt-get install "
                        + "libopenblas-dev"
                ))
        }
        guard let sgemm = dlsym(handle, "cblas_sgemm"), let threads = dlsym(handle, "openblas_set_num_threads") else {
            return .failure(EtaError(.unavailable, "the loaded OpenBLAS lacks cblas_sgemm or openblas_set_num_threads"))
        }
        let name =
            dlsym(handle, "openblas_get_corename").flatMap { unsafeBitCast($0, to: CoreName.self)() }.map {
                String(cString: $0)
            } ?? "?"
        return .success(
            Library(
                sgemm: unsafeBitCast(sgemm, to: SGEMM.self), setThreads: unsafeBitCast(threads, to: SetThreads.self),
                coreName: name))
    }
}
