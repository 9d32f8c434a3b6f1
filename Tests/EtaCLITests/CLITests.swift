import Eta
import Foundation
import Testing

/// Runs the `eta` binary that `swift test` built beside the test bundle.
struct CLI {
    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    static let binary: URL = {
        let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        var folder = exe.deletingLastPathComponent()
        // The test bundle may sit inside a .xctest folder; the executable is beside it in the build folder.
        while !FileManager.default.fileExists(atPath: folder.appendingPathComponent("eta").path), folder.path != "/" {
            folder = folder.deletingLastPathComponent()
        }
        return folder.appendingPathComponent("eta")
    }()

    static func run(
        _ arguments: [String], environment: [String: String] = [:], executable: URL = binary
    ) throws -> Result {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env["ETA_DEVICE"] = nil
        for (key, value) in environment { env[key] = value }
        process.environment = env
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Read before waiting so a large output cannot fill the pipe and stall the child.
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(
            status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
            stderr: String(decoding: stderr, as: UTF8.self))
    }
}

enum OpenCLPresence {
    static let present = ((try? DeviceSelection.openCLDevices().isEmpty) ?? true) == false
    static var run: Bool { present || ProcessInfo.processInfo.environment["ETA_REQUIRE_OPENCL"] == "1" }
}

@Suite("eta command line")
struct CLITests {
    @Test(
        "bad SPECs exit 64 and name the bad part",
        arguments: [
            (["explore", "--optimizer", "sophia"], "unknown optimizer 'sophia'"),
            (["explore", "--optimizer", "sgd:lr=-1"], "'lr'"),
            (["explore", "--optimizer", "sgd:nesterov=true"], "nesterov=true requires momentum > 0"),
            (["explore", "--optimizer", "adam:beta1=1.5"], "[0, 1)"),
            (["explore", "--optimizer", "adam:gamma=1"], "unknown key 'gamma'"),
            (["explore", "--objective", "booth"], "unknown objective"),
            (["explore", "--start=1,2,3"], "--start has 3 values"),
            (["explore", "--start=a,2"], "invalid number 'a'"),
            (["explore", "--steps=-3"], "--steps must be in 0...10000000 (got -3)"),
            (["explore", "--format", "xml"], "xml"),
            (["verify", "--sizes", "1,-2"], "invalid size '-2'"),
            (["bench", "--optimizer", "adam:lr=x"], "invalid value 'x'"),
            (["frobnicate"], "frobnicate"),
        ])
    func usageErrors(arguments: [String], message: String) throws {
        let result = try CLI.run(arguments + ["--device", "cpu"].filter { _ in arguments.first != "frobnicate" })
        #expect(result.status == 64, "\(arguments): exit \(result.status), \(result.stderr)")
        #expect(result.stderr.contains(message), "\(arguments): \(result.stderr)")
    }

    @Test("explore jsonl: one record per step with the documented fields")
    func exploreJSONL() throws {
        let result = try CLI.run([
            "explore", "--objective", "rosenbrock", "--optimizer", "adam:lr=0.01", "--steps", "5",
            "--format", "jsonl", "--device", "cpu", "--start=-1.5,2",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n")
        #expect(lines.count == 5)
        let first = try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as! [String: Any]
        #expect(first["step"] as? Int == 1)
        #expect(first["lr"] as? Double == 0.01)
        #expect((first["x"] as? [Double])?.count == 2)
        // Loss before step 1 is f(start): (1 + 1.5)^2 + 100 (2 - 2.25)^2 = 12.5.
        #expect(first["loss"] as? Double == 12.5)
    }

    @Test("explore --lrs: one run per lr and optimizer, a comparison table, multi-run JSONL and the contour plot")
    func exploreComparison() throws {
        let dir = folder()
        let table = try CLI.run([
            "explore", "--objective", "rastrigin", "--lrs", "1e-3,3e-2", "--optimizer", "sgd", "--optimizer", "adam",
            "--steps", "300", "--device", "cpu", "--plot", dir.path + "/paths.svg",
        ])
        #expect(table.status == 0, "\(table.stderr)")
        let rows = table.stdout.split(separator: "\n").filter { $0.hasPrefix("    ") }
        #expect(rows.count == 4, "\(table.stdout)")
        #expect(rows.first?.contains("local minimum") == true, "sgd at 1e-3 stays in Rastrigin's nearest basin")
        let svg = try String(contentsOfFile: dir.path + "/paths.svg", encoding: .utf8)
        #expect(svg.hasPrefix("<svg") && svg.contains("class=\"contour\"") && svg.contains("Loss against step"))
        #expect(svg.components(separatedBy: "class=\"path\"").count - 1 == 4)
        let jsonl = try CLI.run([
            "explore", "--objective", "matrix", "--lrs", "0.01,0.05", "--steps", "20", "--format", "jsonl",
            "--device", "cpu", "--plot", dir.path + "/matrix.svg",
        ])
        #expect(jsonl.status == 0, "\(jsonl.stderr)")
        let records = jsonl.stdout.split(separator: "\n")
        #expect(records.count == 40 && records.last?.contains("\"run\": 2") == true, "\(records.last ?? "")")
        // A 12-dimensional function has no contour panel: the loss chart alone.
        let matrixPlot = try String(contentsOfFile: dir.path + "/matrix.svg", encoding: .utf8)
        #expect(!matrixPlot.contains("class=\"contour\"") && matrixPlot.contains("Loss against step"))
        let bad = try CLI.run(["explore", "--lrs", "0,1", "--device", "cpu"])
        #expect(bad.status == 64 && bad.stderr.contains("not a positive number"), "\(bad.stderr)")
    }

    @Test("explore table: summary with an end point and a verdict")
    func exploreTable() throws {
        let converged = try CLI.run([
            "explore", "--objective", "quadratic", "--optimizer", "sgd:lr=0.1", "--steps", "300", "--device", "cpu",
        ])
        #expect(converged.status == 0)
        #expect(converged.stdout.contains("verdict     converged"), "\(converged.stdout)")
        let diverged = try CLI.run([
            "explore", "--objective", "quadratic", "--optimizer", "sgd:lr=0.25", "--steps", "100", "--device", "cpu",
        ])
        #expect(diverged.stdout.contains("verdict     diverged"), "\(diverged.stdout)")
        let oscillating = try CLI.run([
            "explore", "--objective", "quadratic", "--curvature", "1,10", "--optimizer", "sgd:lr=0.199",
            "--steps", "50", "--device", "cpu",
        ])
        #expect(oscillating.stdout.contains("verdict     oscillating"), "\(oscillating.stdout)")
    }

    @Test(
        "verify exits 0 when all pass and prints per-size errors",
        arguments: OpenCLPresence.run ? ["cpu", "opencl"] : ["cpu"])
    func verify(device: String) throws {
        let result = try CLI.run(["verify", "--device", device, "--sizes", "0,1,17", "--format", "json"])
        #expect(result.status == 0, "\(result.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as! [String: Any]
        #expect(json["passed"] as? Bool == true)
        let results = json["results"] as! [[String: Any]]
        #expect(results.count > (Eta.Verify.optimizerSpecs.count + 2) * 3)
        let families = Set(OptimizerConfiguration.rules.map { OptimizerConfiguration($0.init()).kernelLabel })
        #expect(
            Set(results.compactMap { $0["kernel"] as? String })
                == families.union([
                    "sgd_update", "adam_update", "copy", "stream28", "gemm",
                    "bias_activation_forward", "bias_activation_backward",
                    "softmax_cross_entropy", "bce_with_logits", "mse", "reduce",
                    "clip_by_norm", "clip_by_value", "conv2d", "max_pool2d", "avg_pool2d", "transpose", "batch_norm",
                    "layer_norm", "embedding", "attention", "dropout", "add",
                ]))
        for key in ["max_abs_error", "max_rel_error", "max_ulp", "size", "passed"] { #expect(results[0][key] != nil) }
    }

    @Test("devices --format json lists the CPU backend and the auto choice")
    func devices() throws {
        let result = try CLI.run(["devices", "--format", "json"])
        #expect(result.status == 0)
        let json = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as! [String: Any]
        #expect(json["auto"] is String)
        #expect(
            (json["devices"] as? [[String: Any]])?.count
                == (OpenCLPresence.present ? try DeviceSelection.openCLDevices().count : 0))
    }

    @Test("with no OpenCL platform everything runs on the CPU, and asking for opencl exits 69 naming the package")
    func noPlatform() throws {
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("eta-no-icd-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        let environment = ["OCL_ICD_VENDORS": empty.path, "OPENCL_VENDOR_PATH": empty.path]
        let devices = try CLI.run(["devices"], environment: environment)
        #expect(devices.status == 0)
        #expect(devices.stdout.contains("No OpenCL platform installed"), "\(devices.stdout)")
        let auto = try CLI.run(["explore", "--steps", "3", "--verbose"], environment: environment)
        #expect(auto.status == 0)
        #expect(auto.stderr.contains("no OpenCL platform is installed"), "\(auto.stderr)")
        let verify = try CLI.run(["verify", "--sizes", "1,17"], environment: environment)
        #expect(verify.status == 0)
        let opencl = try CLI.run(["explore", "--device", "opencl"], environment: environment)
        #expect(opencl.status == 69)
        #expect(opencl.stderr.contains("pocl-opencl-icd"), "\(opencl.stderr)")
        let numbered = try CLI.run(["verify", "--device", "opencl:0"], environment: environment)
        #expect(numbered.status == 69)
    }

    @Test("an unknown device exits 69 and lists the valid values", .enabled(if: OpenCLPresence.run))
    func unknownDevice() throws {
        let result = try CLI.run(["explore", "--device", "opencl:42"])
        #expect(result.status == 69)
        #expect(result.stderr.contains("opencl:0"))
        let named = try CLI.run(["explore", "--device", "no-such-gpu"])
        #expect(named.status == 69)
        #expect(named.stderr.contains("valid values are auto, cpu, opencl"))
    }

    @Test("a second OpenCL run loads every program from the disk cache", .enabled(if: OpenCLPresence.run))
    func programCache() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("eta-cache-\(UUID().uuidString)")
            .path
        let first = try CLI.run(
            ["verify", "--device", "opencl", "--sizes", "1", "--verbose"], environment: ["ETA_CACHE_DIR": folder])
        #expect(first.status == 0)
        #expect(first.stderr.contains("optimizers.cl compiled"), "\(first.stderr)")
        let second = try CLI.run(
            ["verify", "--device", "opencl", "--sizes", "1", "--verbose"], environment: ["ETA_CACHE_DIR": folder])
        #expect(second.status == 0)
        for file in ["bandwidth.cl", "layers.cl", "optimizers.cl", "adaptive.cl"] {
            #expect(second.stderr.contains("\(file) cached"), "\(file): \(second.stderr)")
        }
        #expect(!second.stderr.contains("compiled"), "\(second.stderr)")
    }

    @Test(
        "bench --format json names the device, sizes and repetitions; --tensors, --model and --trace",
        arguments: OpenCLPresence.run ? ["cpu", "opencl"] : ["cpu"])
    func bench(device: String) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("eta-bench-\(UUID().uuidString)").path
        let result = try CLI.run([
            "bench", "--device", device, "--params", "4096,1", "--repeat", "3", "--format", "json",
            "--optimizer", "adam,sgd:momentum=0.9", "--tensors", "7", "--trace", dir + "/trace.json",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as! [String: Any]
        #expect(json["sizes"] as? [Int] == [4096, 1])
        #expect(json["repeat"] as? Int == 3)
        for key in ["device", "driver", "version", "backend"] { #expect(json[key] is String, "missing \(key)") }
        let rows = json["results"] as! [[String: Any]]
        let names = rows.filter { $0["parameters"] as? Int == 4096 }.compactMap { $0["name"] as? String }
        #expect(
            names == ["adam", "adam x7 tensors", "sgd:momentum=0.9", "sgd:momentum=0.9 x7 tensors", "copy", "stream28"])
        let split = try #require(rows.first { $0["name"] as? String == "adam x7 tensors" })
        #expect(split["time_vs_one_tensor"] is Double && split["tensors"] as? Int == 7)
        let trace =
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/trace.json")))
            as! [String: Any]
        let events = trace["traceEvents"] as! [[String: Any]]
        #expect(
            events.contains {
                $0["name"] as? String == "adam_update" && $0["ph"] as? String == "X" && $0["dur"] is Double
            })

        let model = try CLI.run([
            "bench", "--device", device, "--model", "mlp:hidden=32", "--inputs", "16", "--outputs", "4",
            "--batch-size", "8", "--repeat", "3", "--format", "json",
        ])
        #expect(model.status == 0, "\(model.stderr)")
        let step = try JSONSerialization.jsonObject(with: Data(model.stdout.utf8)) as! [String: Any]
        #expect(step["model"] as? String == "16-32-4" && step["samples_per_s"] is Double && step["gflops"] is Double)
    }

    @Test("mixed tensor sizes sum to the total")
    func mixedSizes() {
        for (total, count) in [(1 << 24, 200), (1000, 7), (5, 5)] {
            let sizes = Eta.Bench.mixedSizes(total: total, tensors: count)
            #expect(sizes.count == count && sizes.reduce(0, +) == total && sizes.allSatisfy { $0 >= 1 })
            if count == 200 { #expect(sizes.max()! > 100 * sizes.min()!) }
        }
    }
}
