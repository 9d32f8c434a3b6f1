import Eta
import Foundation
import Testing

/// `mpirun` (Open MPI) around the `eta` binary: root-safe (the two OMPI_ALLOW_RUN_AS_ROOT variables), unbound (the
/// suite's other processes share the cores), oversubscribed when asked.
enum MPIRun {
    static func run(_ ranks: Int, _ arguments: [String], oversubscribe: Bool = false) throws -> CLI.Result {
        try CLI.run(
            ["-np", String(ranks), "--bind-to", "none"] + (oversubscribe ? ["--oversubscribe"] : [])
                + [CLI.binary.path] + arguments,
            environment: ["OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"],
            executable: URL(fileURLWithPath: "/usr/bin/mpirun"))
    }

    /// The JSON summary of a run (`--format json`).
    static func summary(_ result: CLI.Result) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
    }
}

/// Relative difference.
private func relative(_ a: Double, _ b: Double) -> Double { abs(a - b) / max(abs(a), abs(b), 1e-12) }

/// Losses of N ranks against one process with the global batch: the same rows and the same per-row arithmetic, the
/// gradient's row sum split in N partial sums (one per rank) added by the all-reduce. Float32 rounding of that
/// different summation order (relative 2^-24 per addition) compounds over the steps; on these runs (60 to 290 steps) it
/// stays below 1e-4 relative, measured at 2e-7 to 3e-6.
@Suite("mpirun: data-parallel training, sharded state, distributed LR tools, faults", .serialized)
struct DistributedCLITests {
    static let tolerance = 1e-4

    static func models() throws -> [(name: String, arguments: [String])] {
        [
            ("mlp", ["--dataset", "digits", "--epochs", "5"]),
            (
                "cnn",
                [
                    "--dataset", "digits", "--input-shape", "1x8x8", "--model",
                    "cnn:channels=4/8,kernel=3,hidden=16", "--epochs", "2",
                ]
            ),
            (
                "gpt",
                [
                    "--dataset", "text:" + (try textCorpusFile()), "--model",
                    "gpt:layers=1,heads=2,embed=16,context=16",
                    "--steps", "30", "--val-batches", "2",
                ]
            ),
        ]
    }

    @Test("2 ranks match one process with the global batch (MLP, CNN, GPT; CPU and PoCL), ranks stay identical")
    func matchesGlobalBatch() throws {
        for device in OpenCLPresence.run ? ["cpu", "opencl"] : ["cpu"] {
            for (name, model) in try Self.models() {
                let common =
                    model + ["--device", device, "--optimizer", "adamw:lr=3e-3", "--format", "json", "--quiet"]
                let one = try CLI.run(["train"] + common + ["--batch-size", "16"])
                #expect(one.status == 0, "\(name) \(device): \(one.stderr)")
                let log = folder().appendingPathComponent("two.jsonl").path
                let two = try MPIRun.run(
                    2, ["train"] + common + ["--batch-size", "8", "--check-ranks", "--log", log])
                #expect(two.status == 0, "\(name) \(device): \(two.stderr)")
                let a = try MPIRun.summary(one), b = try MPIRun.summary(two)
                #expect(b["world_size"] as? Int == 2 && b["global_batch_size"] as? Int == 16)
                #expect(a["steps"] as? Int == b["steps"] as? Int)
                for key in ["train_loss", "val_loss"] {
                    let x = try #require(a[key] as? Double), y = try #require(b[key] as? Double)
                    #expect(relative(x, y) < Self.tolerance, "\(name) \(device) \(key): \(x) vs \(y)")
                }
                if name != "gpt" { #expect(a["val_accuracy"] as? Double == b["val_accuracy"] as? Double) }
                // Rank 0 alone writes the log; its run_start names the world size.
                let lines = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n")
                #expect(lines.first?.contains("\"world_size\": 2") == true)
                #expect(lines.filter { $0.contains("\"run_start\"") }.count == 1)
            }
        }
    }

    @Test("4 ranks oversubscribed on 2 cores match one process with the global batch; an uneven last batch too")
    func fourRanks() throws {
        // 1,438 training rows in global batches of 52: the last batch (34 rows) splits 8/9/8/9.
        let common = [
            "train", "--dataset", "digits", "--epochs", "3", "--device", "cpu", "--format", "json", "--quiet",
        ]
        let one = try CLI.run(common + ["--batch-size", "52"])
        let four = try MPIRun.run(4, common + ["--batch-size", "13", "--check-ranks"], oversubscribe: true)
        #expect(four.status == 0, "\(four.stderr)")
        let a = try MPIRun.summary(one), b = try MPIRun.summary(four)
        let x = try #require(a["train_loss"] as? Double), y = try #require(b["train_loss"] as? Double)
        #expect(relative(x, y) < Self.tolerance, "\(x) vs \(y)")
        #expect(a["val_accuracy"] as? Double == b["val_accuracy"] as? Double)
    }

    @Test("sharded optimizer state follows the unsharded trajectory with less memory per rank; refusals are clear")
    func sharded() throws {
        let cases: [[String]] = [
            ["--optimizer", "adamw:lr=3e-3", "--clip-grad-norm", "1"],
            ["--optimizer", "prodigy"],
            ["--optimizer", "adam", "--state-dtype", "bf16", "--param-group", "*.bias:lr_scale=0.5,weight_decay=0"],
        ]
        for extra in cases {
            let common =
                ["train", "--dataset", "digits", "--epochs", "4", "--device", "cpu", "--format", "json", "--quiet"]
                + extra
            let plain = try MPIRun.run(2, common + ["--batch-size", "25"])
            let sharded = try MPIRun.run(
                2, common + ["--batch-size", "25", "--shard-optimizer-state", "--check-ranks"])
            #expect(sharded.status == 0, "\(extra): \(sharded.stderr)")
            let a = try MPIRun.summary(plain), b = try MPIRun.summary(sharded)
            for key in ["train_loss", "val_loss"] {
                let x = try #require(a[key] as? Double), y = try #require(b[key] as? Double)
                #expect(relative(x, y) < Self.tolerance, "\(extra) \(key): \(x) vs \(y)")
            }
        }
        // Per rank, the block holds 1/N of the state plus its own copy of 1/N of the parameters and gradients: with
        // Adam's two slots the saving is (2·(N−1) − 2)/N models: none at N = 2, one at N = 4.
        let four = ["train", "--dataset", "digits", "--epochs", "1", "--device", "cpu", "--format", "json", "--quiet"]
        let plain = try MPIRun.run(4, four, oversubscribe: true)
        let sharded = try MPIRun.run(4, four + ["--shard-optimizer-state"], oversubscribe: true)
        let memory = (
            try #require(try MPIRun.summary(plain)["device_memory_bytes"] as? Int),
            try #require(try MPIRun.summary(sharded)["device_memory_bytes"] as? Int)
        )
        #expect(memory.1 < memory.0, "\(memory)")
        let lamb = try MPIRun.run(
            2, ["train", "--dataset", "digits", "--optimizer", "lamb", "--shard-optimizer-state", "--device", "cpu"])
        #expect(lamb.status == 64 && lamb.stderr.contains("does not support lamb"), "\(lamb.stderr)")
    }

    @Test("--ema and --swa-start over 2 sharded ranks give the one-process averages with the global batch")
    func averages() throws {
        let common = [
            "train", "--dataset", "digits", "--epochs", "4", "--device", "cpu", "--format", "json", "--quiet", "--ema",
            "0.9", "--swa-start", "2", "--swa-lr", "1e-3",
        ]
        let one = try CLI.run(common + ["--batch-size", "64"])
        let two = try MPIRun.run(2, common + ["--batch-size", "32", "--shard-optimizer-state", "--check-ranks"])
        #expect(two.status == 0, "\(two.stderr)")
        let a = try MPIRun.summary(one), b = try MPIRun.summary(two)
        for key in ["val_loss", "ema_val_loss", "swa_val_loss"] {
            let x = try #require(a[key] as? Double), y = try #require(b[key] as? Double)
            #expect(relative(x, y) < Self.tolerance, "\(key): \(x) vs \(y)")
        }
    }

    @Test("a checkpoint of 2 ranks resumes bit for bit on 2 ranks, and on 1 process with the same global batch")
    func resumeAcrossWorldSizes() throws {
        for shard in [false, true] {
            let flags = shard ? ["--shard-optimizer-state"] : []
            let common =
                [
                    "train", "--dataset", "digits", "--optimizer", "adam", "--device", "cpu", "--format", "json",
                    "--quiet",
                ]
                + flags
            let full = try MPIRun.run(2, common + ["--epochs", "4", "--batch-size", "20"])
            let checkpoints = folder()
            let first = try MPIRun.run(
                2, common + ["--epochs", "2", "--batch-size", "20", "--checkpoint", checkpoints.path])
            #expect(first.status == 0, "\(first.stderr)")
            let file = checkpoints.appendingPathComponent("checkpoint-latest.safetensors").path
            let again = try MPIRun.run(2, common + ["--epochs", "4", "--resume", file])
            let single = try CLI.run(common + ["--epochs", "4", "--resume", file])
            #expect(again.status == 0 && single.status == 0, "\(again.stderr) \(single.stderr)")
            #expect(single.stderr.contains("global batch of 40 on 1 ranks"), "\(single.stderr)")
            let reference = try MPIRun.summary(full)
            #expect(try MPIRun.summary(again)["train_loss"] as? Double == reference["train_loss"] as? Double)
            let x = try #require(reference["val_loss"] as? Double)
            let y = try #require(try MPIRun.summary(single)["val_loss"] as? Double)
            #expect(relative(x, y) < Self.tolerance, "shard \(shard): \(x) vs \(y)")
        }
    }

    @Test("a sweep over 2 ranks gives the one-process per-lr results; lr-find gives the same curve's suggestions")
    func lrTools() throws {
        let sweep = ["sweep", "--dataset", "digits", "--epochs", "2", "--lrs", "1e-3,1e-2,3e-2", "--optimizer", "adam"]
        let one = try CLI.run(sweep + ["--device", "cpu", "--format", "json"])
        let two = try MPIRun.run(2, sweep + ["--device", "cpu", "--format", "json"])
        #expect(two.status == 0, "\(two.stderr)")
        let a = try #require(try MPIRun.summary(one)["runs"] as? [[String: Any]])
        let b = try #require(try MPIRun.summary(two)["runs"] as? [[String: Any]])
        #expect(a.count == 3 && b.count == 3)
        for (x, y) in zip(a, b) {
            #expect(x["lr"] as? Double == y["lr"] as? Double)
            for key in ["final_train_loss", "final_val_loss"] {
                let u = try #require(x[key] as? Double), v = try #require(y[key] as? Double)
                #expect(relative(u, v) < 1e-6, "\(key): \(u) vs \(v)")
            }
        }
        let find = ["lr-find", "--dataset", "digits", "--num-iter", "60", "--device", "cpu", "--format", "json"]
        let single = try CLI.run(find + ["--batch-size", "32"])
        let ranks = try MPIRun.run(2, find + ["--batch-size", "16"])
        #expect(ranks.status == 0, "\(ranks.stderr)")
        let s1 = try #require(try MPIRun.summary(single)["suggestions"] as? [String: [String: Any]])
        let s2 = try #require(try MPIRun.summary(ranks)["suggestions"] as? [String: [String: Any]])
        for (name, value) in s1 {
            let u = try #require(value["lr"] as? Double), v = try #require(s2[name]?["lr"] as? Double)
            #expect(relative(u, v) < 1e-3, "\(name): \(u) vs \(v)")
        }
        let few = try MPIRun.run(2, ["sweep", "--dataset", "digits", "--lrs", "1e-3", "--device", "cpu"])
        #expect(few.status == 64 && few.stderr.contains("needs at least 2 learning rates"), "\(few.stderr)")
    }

    @Test("an error on one rank ends the job with its code and names the rank; a killed rank ends it within 30 s")
    func faults() throws {
        let missing = try MPIRun.run(2, ["train", "--dataset", "digits", "--resume", "/nonexistent/c.safetensors"])
        #expect(missing.status == 66 && missing.stderr.contains("rank 0 of 2"), "\(missing.stderr)")
        let verify = try MPIRun.run(2, ["verify", "--device", "cpu"])
        #expect(verify.status == 64 && verify.stderr.contains("runs in one process"), "\(verify.stderr)")

        // SIGKILL one rank mid-run: Open MPI notices the dead rank and kills the others.
        let checkpoints = folder()
        let process = try Self.mpirun([
            "train", "--dataset", "digits", "--epochs", "100000", "--device", "cpu", "--quiet", "--checkpoint",
            checkpoints.path, "--checkpoint-every", "20",
        ])
        let file = checkpoints.appendingPathComponent("checkpoint-latest.safetensors")
        let deadline = Date().addingTimeInterval(120)
        while !FileManager.default.fileExists(atPath: file.path) && Date() < deadline { usleep(100_000) }
        let ranks = try #require(Self.children(of: process.processIdentifier))
        #expect(ranks.count == 2, "\(ranks)")
        let killed = Date()
        kill(try #require(ranks.last), SIGKILL)
        while process.isRunning && Date().timeIntervalSince(killed) < 60 { usleep(50_000) }
        let seconds = Date().timeIntervalSince(killed)
        #expect(!process.isRunning && seconds < 30, "mpirun still running \(seconds) s after the kill")
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        #expect(process.wait() != 0)
        // The last checkpoint is whole: it reads and checks.
        #expect(throws: Never.self) { _ = try Checkpoint.read(from: file) }
    }

    @Test("SIGTERM to mpirun: the ranks stop at the same step and rank 0 writes the final checkpoint and log")
    func sigterm() throws {
        let output = folder()
        let log = output.appendingPathComponent("run.jsonl")
        let process = try Self.mpirun([
            "train", "--dataset", "digits", "--epochs", "100000", "--device", "cpu", "--quiet", "--checkpoint",
            output.path, "--log", log.path,
        ])
        // Training has started once the streamed log has a step record.
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline {
            let partial = (try? String(contentsOfFile: log.path + ".partial", encoding: .utf8)) ?? ""
            if partial.contains("\"step\"") { break }
            usleep(100_000)
        }
        kill(process.processIdentifier, SIGTERM)
        let signalled = Date()
        while process.isRunning && Date().timeIntervalSince(signalled) < 60 { usleep(50_000) }
        #expect(!process.isRunning, "mpirun still running a minute after SIGTERM")
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.wait()
        let records = try String(contentsOf: log, encoding: .utf8).split(separator: "\n")
        #expect(records.last?.contains("\"status\": \"interrupted\"") == true, "\(records.last ?? "")")
        #expect(records.last?.contains("\"exit_code\": 143") == true)
        let checkpoint = try Checkpoint.read(from: output.appendingPathComponent("checkpoint-latest.safetensors"))
        #expect(Int(checkpoint.metadata["step"] ?? "0")! > 0 && checkpoint.metadata["world_size"] == "2")
    }

    /// mpirun with 2 unbound ranks of `eta`, started with a clean signal mask, its output discarded.
    static func mpirun(_ arguments: [String]) throws -> SignalCleanProcess {
        var environment = ProcessInfo.processInfo.environment
        environment["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
        environment["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
        return try SignalCleanProcess(
            executable: "/usr/bin/mpirun",
            arguments: ["-np", "2", "--bind-to", "none", CLI.binary.path] + arguments, environment: environment)
    }

    @Test("bench --allreduce times Eta's exchange and MPI_Allreduce on every rank count")
    func allreduceBench() throws {
        let result = try MPIRun.run(2, ["bench", "--allreduce", "16,4096", "--device", "cpu", "--format", "json"])
        #expect(result.status == 0, "\(result.stderr)")
        let rows = try #require(try MPIRun.summary(result)["allreduce"] as? [[String: Any]])
        #expect(rows.count == 2 && rows.allSatisfy { ($0["eta_seconds"] as? Double ?? 0) > 0 })
    }

    /// The eta processes mpirun started (its children, through /proc).
    static func children(of parent: Int32) -> [Int32]? {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return nil }
        return entries.compactMap(Int32.init).filter { pid in
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { return false }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 2 && Int32(fields[1]) == parent && stat.contains("(eta)")
        }.sorted()
    }
}
