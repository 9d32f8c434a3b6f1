import Eta
import Foundation
import Testing

/// Starts `eta` without waiting, for signal tests.
func launch(_ arguments: [String]) throws -> Process {
    let process = Process()
    process.executableURL = CLI.binary
    process.arguments = arguments
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    return process
}

/// Waits for `process`, killing it after `seconds`: a lost signal must fail the test, not hang the suite.
func waitForExit(_ process: Process, seconds: Double = 120) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
    guard process.isRunning else { return true }
    kill(process.processIdentifier, SIGKILL)
    process.waitUntilExit()
    return false
}

/// Waits (up to 60 s) until a run's streamed log holds a step record: its signal handlers are installed by then.
func waitForSteps(in path: String) throws {
    for _ in 0..<600 {
        if let text = try? String(contentsOfFile: path, encoding: .utf8), text.contains("\"event\": \"step\"") {
            return
        }
        Thread.sleep(forTimeInterval: 0.1)
    }
    throw EtaError(.software, "no step record appeared in \(path)")
}

func folder() -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("eta-cli-\(UUID().uuidString)")
    try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

@Suite("eta train")
struct TrainCLITests {
    @Test("--swa-start averages the later epochs, reports and saves the average; bad SWA options exit 64")
    func swa() throws {
        let dir = folder()
        let run = try CLI.run([
            "train", "--device", "cpu", "--epochs", "4", "--swa-start", "2", "--swa-lr", "1e-3", "--swa-anneal",
            "linear", "--swa-anneal-epochs", "1", "--checkpoint", dir.path, "--format", "json",
        ])
        #expect(run.status == 0, "\(run.stderr)")
        let summary = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as! [String: Any]
        #expect(summary["swa_val_loss"] is Double, "\(summary)")
        let checkpoint = try Checkpoint.read(from: URL(fileURLWithPath: dir.path + "/checkpoint-latest.safetensors"))
        #expect(checkpoint.metadata["swa"] == "start=2,lr=0.001,anneal_epochs=1,anneal=linear")
        #expect(checkpoint.metadata["swa_updates"] == "2" && checkpoint.tensors.contains { $0.name.hasPrefix("swa.") })
        for (arguments, message) in [
            (["--swa-start", "2"], "--swa-start and --swa-lr go together"),
            (["--swa-lr", "0.01"], "--swa-start and --swa-lr go together"),
            (["--swa-start", "-1", "--swa-lr", "0.01"], "--swa-start must be >= 0"),
            (["--swa-start", "1", "--swa-lr", "0"], "--swa-lr must be a finite number > 0"),
            (["--swa-anneal", "cos"], "need --swa-start"),
            (["--swa-start", "1", "--swa-lr", "0.1", "--swa-anneal", "step"], "valid values are cos, linear"),
        ] {
            let result = try CLI.run(["train", "--device", "cpu"] + arguments)
            #expect(result.status == 64 && result.stderr.contains(message), "\(arguments): \(result.stderr)")
        }
    }

    @Test(
        "--ema reports the averaged weights' validation, saves them, and a resume keeps the decay; bad decays exit 64")
    func ema() throws {
        let dir = folder()
        let first = try CLI.run([
            "train", "--device", "cpu", "--epochs", "2", "--ema", "0.9", "--checkpoint", dir.path, "--format", "json",
            "--log", dir.path + "/log.jsonl",
        ])
        #expect(first.status == 0, "\(first.stderr)")
        let summary = try JSONSerialization.jsonObject(with: Data(first.stdout.utf8)) as! [String: Any]
        #expect(summary["ema_val_loss"] is Double && summary["ema_val_accuracy"] is Double, "\(summary)")
        let log = try String(contentsOfFile: dir.path + "/log.jsonl", encoding: .utf8)
        #expect(log.contains("\"ema_val_loss\""))
        let checkpoint = try Checkpoint.read(from: URL(fileURLWithPath: dir.path + "/checkpoint-latest.safetensors"))
        #expect(checkpoint.metadata["ema_decay"] == "0.9" && checkpoint.tensors.contains { $0.name.hasPrefix("ema.") })
        let resumed = try CLI.run([
            "train", "--device", "cpu", "--epochs", "3", "--resume", dir.path + "/checkpoint-latest.safetensors",
            "--format", "json",
        ])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let again = try JSONSerialization.jsonObject(with: Data(resumed.stdout.utf8)) as! [String: Any]
        #expect(again["ema_val_loss"] is Double, "the resumed run keeps the checkpoint's --ema")
        for bad in ["1.5", "-0.1", "nan"] {
            let result = try CLI.run(["train", "--device", "cpu", "--ema", bad])
            #expect(result.status == 64 && result.stderr.contains("--ema"), "\(bad): \(result.stderr)")
        }
        let scheduleFree = try CLI.run(["train", "--device", "cpu", "--ema", "0.9", "--optimizer", "schedulefree_sgd"])
        #expect(scheduleFree.status == 64 && scheduleFree.stderr.contains("Schedule-Free"), "\(scheduleFree.stderr)")
    }

    @Test(
        """
        parameter groups, 16-bit state and the gradient check: a resume keeps the checkpoint's groups \
        and state type; bad values exit 64
        """
    )
    func updateOptions() throws {
        let dir = folder()
        let first = try CLI.run([
            "train", "--device", "cpu", "--dataset", "iris", "--epochs", "2", "--quiet", "--optimizer", "adamw:lr=0.01",
            "--no-decay", "*.bias", "--param-group", "layer0.*:lr_scale=0.5", "--state-dtype", "bf16",
            "--on-nonfinite-grad", "skip", "--checkpoint", dir.path,
        ])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(
            first.stdout.contains("group      layer0.*: lr x0.5") && first.stdout.contains("group      *.bias"),
            "\(first.stdout)")
        let resumed = try CLI.run([
            "train", "--device", "cpu", "--epochs", "3", "--quiet", "--resume",
            dir.path + "/checkpoint-latest.safetensors",
        ])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(
            resumed.stdout.contains("group      layer0.*: lr x0.5"),
            "the resumed run lost its groups: \(resumed.stdout)")
        for bad in [
            ["--state-dtype", "fp8"], ["--param-group", "*.bias:lr=1"], ["--no-decay", "nothing*"],
            ["--on-nonfinite-grad", "maybe"],
            ["--max-skips=-1"], ["--optimizer", "prodigy", "--no-decay", "*.bias"],
            ["--optimizer", "prodigy", "--state-dtype", "bf16"],
        ] {
            let result = try CLI.run(
                ["train", "--device", "cpu", "--dataset", "iris", "--epochs", "1", "--quiet"] + bad)
            #expect(result.status == 64, "\(bad): \(result.stderr)")
            #expect(result.stderr.contains("eta: error:"), "\(bad): \(result.stderr)")
        }
    }

    @Test("summary as JSON, JSONL and CSV logs, and an SVG plot")
    func outputs() throws {
        let dir = folder()
        let result = try CLI.run([
            "train", "--device", "cpu", "--epochs", "3", "--format", "json", "--log", dir.path + "/run.jsonl",
            "--csv", dir.path + "/run.csv", "--plot", dir.path + "/run.svg", "--checkpoint", dir.path + "/ck",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let summary = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as! [String: Any]
        for key in [
            "train_loss", "train_accuracy", "val_loss", "val_accuracy", "wall_seconds", "samples_per_second", "device",
        ] {
            #expect(summary[key] != nil, "summary lacks \(key)")
        }
        #expect(summary["status"] as? String == "completed")
        let records = try String(contentsOfFile: dir.path + "/run.jsonl", encoding: .utf8).split(separator: "\n")
            .map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        let events = records.compactMap { $0["event"] as? String }
        #expect(events.first == "run_start" && events.last == "run_end")
        #expect(events.filter { $0 == "epoch" }.count == 3)
        #expect(
            records.first?["seed"] as? Int == 0 && records.first?["device"] is String
                && records.first?["version"] is String)
        let step = try #require(records.first { $0["event"] as? String == "step" })
        for key in ["step", "epoch", "lr", "loss", "grad_norm"] { #expect(step[key] != nil) }
        let csv = try String(contentsOfFile: dir.path + "/run.csv", encoding: .utf8)
        #expect(csv.hasPrefix(TrainingLog.csvColumns))
        let svg = try String(contentsOfFile: dir.path + "/run.svg", encoding: .utf8)
        #expect(svg.hasPrefix("<svg") && svg.contains("validation") && svg.contains("Learning rate"))
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/run.jsonl.partial"))
        #expect(FileManager.default.fileExists(atPath: dir.path + "/ck/checkpoint-latest.safetensors"))
    }

    @Test(
        "bad data, specs, checkpoints and paths get their documented exit codes",
        arguments: [
            (["--dataset", "csv:/nonexistent/data.csv"], Int32(66), "no such file"),
            (["--dataset", "idx:/nonexistent"], 66, "no such folder"),
            (["--dataset", "mnist"], 64, "unknown dataset"),
            (["--model", "mlp:hidden=0"], 64, "invalid hidden width"),
            (["--model", "vit"], 64, "unknown model"),
            (["--model", "cnn"], 64, "cnn needs image inputs"),
            (["--model", "mlp:act=swish"], 64, "unknown activation"),
            (["--loss", "hinge"], 64, "unknown loss"),
            (["--loss", "mse"], 64, "needs a regression dataset"),
            (["--schedule", "sawtooth"], 64, "unknown schedule"),
            (["--schedule", "cosine"], 64, "needs 't_max='"),
            (["--warmup", "cosine:t_max=3"], 64, "--warmup takes constant, linear or polynomial"),
            (["--schedule-interval", "batch"], 64, "valid values are step, epoch"),
            (["--optimizer", "sgd", "--schedule", "onecycle"], 64, "momentum=0"),
            (["--batch-size", "0"], 64, "--batch-size"),
            (["--clip-grad-norm", "0"], 64, "--clip-grad-norm"),
            (["--accumulate", "0"], 64, "--accumulate"),
            (["--accumulate-mode", "max"], 64, "valid values are mean, sum"),
            (["--clip-grad-value", "-1"], 64, "--clip-grad-value"),
            (["--val-fraction", "1.5"], 64, "--val-fraction"),
            (["--resume", "/nonexistent/ck.safetensors"], 66, "no such checkpoint"),
            (["--log", "/dev/null/run.jsonl"], 74, "/dev/null/run.jsonl"),
        ])
    func errors(arguments: [String], code: Int32, message: String) throws {
        let result = try CLI.run(["train", "--device", "cpu", "--epochs", "1", "--quiet"] + arguments)
        #expect(result.status == code, "\(arguments): exit \(result.status): \(result.stderr)")
        #expect(result.stderr.contains(message), "\(arguments): \(result.stderr)")
    }

    @Test("a malformed CSV names the file and line; nothing is half-written")
    func badCSV() throws {
        let dir = folder()
        try "a,b,label\n1,2,0\n3,x,1\n".write(toFile: dir.path + "/bad.csv", atomically: true, encoding: .utf8)
        let result = try CLI.run([
            "train", "--device", "cpu", "--quiet", "--dataset", "csv:" + dir.path + "/bad.csv",
            "--log", dir.path + "/run.jsonl",
        ])
        #expect(result.status == 65)
        #expect(result.stderr.contains("bad.csv:3: column 2"), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/run.jsonl"))
    }

    @Test("a damaged checkpoint or another optimizer's checkpoint is refused with exit 65")
    func badResume() throws {
        let dir = folder()
        #expect(
            try CLI.run(["train", "--device", "cpu", "--quiet", "--epochs", "1", "--checkpoint", dir.path]).status == 0)
        let file = dir.path + "/checkpoint-latest.safetensors"
        let other = try CLI.run([
            "train", "--device", "cpu", "--quiet", "--resume", file, "--optimizer", "sgd:momentum=0.9",
        ])
        #expect(other.status == 65)
        #expect(other.stderr.contains("checkpoint check 'optimizer'"), "\(other.stderr)")
        let shape = try CLI.run(["train", "--device", "cpu", "--quiet", "--resume", file, "--model", "mlp:hidden=32"])
        #expect(shape.status == 65)
        #expect(shape.stderr.contains("checkpoint check 'shape'"), "\(shape.stderr)")
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: file)))
        bytes[bytes.count - 1] ^= 0x40
        try Data(bytes).write(to: URL(fileURLWithPath: file))
        let flipped = try CLI.run(["train", "--device", "cpu", "--quiet", "--resume", file])
        #expect(flipped.status == 65)
        #expect(flipped.stderr.contains("checkpoint check 'checksum'"), "\(flipped.stderr)")
    }

    @Test(
        "Ctrl-C, SIGTERM and SIGHUP end the run cleanly with a final checkpoint and exit 128 + the signal",
        arguments: [(SIGINT, 130), (SIGTERM, 143), (SIGHUP, 129)] as [(Int32, Int32)])
    func interrupt(signal: Int32, status: Int32) throws {
        let dir = folder()
        let process = try launch([
            "train", "--device", "cpu", "--epochs", "100000", "--dataset", "iris",
            "--checkpoint", dir.path, "--log", dir.path + "/run.jsonl",
        ])
        try waitForSteps(in: dir.path + "/run.jsonl.partial")
        kill(process.processIdentifier, signal)
        #expect(waitForExit(process), "the run did not stop after the signal")
        #expect(process.terminationReason == .exit && process.terminationStatus == status)
        let checkpoint = try Checkpoint.read(from: URL(fileURLWithPath: dir.path + "/checkpoint-latest.safetensors"))
        #expect(Int(checkpoint.metadata["step"] ?? "0")! > 0)
        let log = try String(contentsOfFile: dir.path + "/run.jsonl", encoding: .utf8)
        #expect(log.contains("\"status\": \"interrupted\"") && log.contains("\"exit_code\": \(status)"))
    }

    @Test("a second signal stops at once, leaving the previous checkpoint readable")
    func secondSignal() throws {
        let dir = folder()
        let first = try CLI.run([
            "train", "--device", "cpu", "--epochs", "2", "--dataset", "iris", "--quiet", "--checkpoint", dir.path,
        ])
        #expect(first.status == 0, "\(first.stderr)")
        let process = try launch([
            "train", "--device", "cpu", "--epochs", "100000", "--dataset", "iris", "--checkpoint", dir.path,
            "--resume", dir.path + "/checkpoint-latest.safetensors", "--log", dir.path + "/run.jsonl",
        ])
        try waitForSteps(in: dir.path + "/run.jsonl.partial")
        kill(process.processIdentifier, SIGTERM)
        kill(process.processIdentifier, SIGTERM)
        #expect(waitForExit(process), "the run did not stop after two signals")
        #expect(process.terminationReason == .exit && process.terminationStatus == 143)
        _ = try Checkpoint.read(from: URL(fileURLWithPath: dir.path + "/checkpoint-latest.safetensors"))
    }

    @Test("a run killed while writing checkpoints leaves the last one intact")
    func killedDuringCheckpoint() throws {
        let dir = folder()
        let file = URL(fileURLWithPath: dir.path + "/checkpoint-latest.safetensors")
        for delay in [0.6, 0.85, 1.1] {
            // Iris epochs take well under a millisecond: a checkpoint is being written almost all the time.
            let process = try launch([
                "train", "--device", "cpu", "--epochs", "1000000", "--dataset", "iris",
                "--checkpoint", dir.path, "--checkpoint-every", "1", "--quiet",
            ])
            // The first checkpoint must exist before the kill (start-up is slower under ASan or a loaded machine).
            for _ in 0..<600 where !FileManager.default.fileExists(atPath: file.path) {
                Thread.sleep(forTimeInterval: 0.1)
            }
            Thread.sleep(forTimeInterval: delay)
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            #expect(process.terminationStatus != 0)
            let checkpoint = try Checkpoint.read(from: file)
            #expect(checkpoint.metadata["optimizer_kind"] == "adam")
        }
        // The survivor resumes, for one more epoch.
        let epoch = Int(try Checkpoint.read(from: file).metadata["epoch"] ?? "0")!
        let resumed = try CLI.run([
            "train", "--device", "cpu", "--quiet", "--resume", file.path, "--epochs", "\(epoch + 1)",
        ])
        #expect(resumed.status == 0, "\(resumed.stderr)")
    }
}

@Suite("eta lr-find and eta schedule")
struct LRFindCLITests {
    @Test("lr-find prints suggestions, writes the curve and a log-x plot")
    func lrFind() throws {
        let dir = folder()
        let result = try CLI.run([
            "lr-find", "--device", "cpu", "--format", "json", "--log", dir.path + "/curve.jsonl",
            "--csv", dir.path + "/curve.csv", "--plot", dir.path + "/curve.svg",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as! [String: Any]
        #expect(json["stop_reason"] as? String == "diverged")
        let suggestions = json["suggestions"] as! [String: [String: Any]]
        #expect(Set(suggestions.keys) == ["valley", "steep", "minimum"])
        #expect(suggestions["valley"]?["lr"] is Double)
        let lines = try String(contentsOfFile: dir.path + "/curve.jsonl", encoding: .utf8).split(separator: "\n")
        #expect(lines.count > 20)
        #expect(
            try String(contentsOfFile: dir.path + "/curve.csv", encoding: .utf8).hasPrefix("iteration,lr,loss,smoothed")
        )
        let svg = try String(contentsOfFile: dir.path + "/curve.svg", encoding: .utf8)
        #expect(svg.hasPrefix("<svg") && svg.contains("valley") && svg.contains("learning rate (log)"))
    }

    @Test("lr-find takes train's step options: accumulation (a point per optimizer step), clipping and groups")
    func lrFindStepOptions() throws {
        let result = try CLI.run([
            "lr-find", "--device", "cpu", "--format", "json", "--num-iter", "30", "--max-epochs", "1",
            "--accumulate", "4", "--clip-grad-norm", "1", "--param-group", "layer0.*:lr_scale=0.1", "--no-decay",
            "*.bias",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as! [String: Any]
        // digits: 23 mini-batches of 64 in an epoch (1,438 training rows), so 6 optimizer steps of 4 (the last
        // gathers 3).
        #expect(json["stop_reason"] as? String == "data_exhausted", "\(json)")
        #expect(json["iterations"] as? Int == 6, "\(json)")
        let bad = try CLI.run(["lr-find", "--device", "cpu", "--accumulate", "0"])
        #expect(bad.status == 64 && bad.stderr.contains("--accumulate must be >= 1"))
    }

    @Test("no suggestion says why; --require-suggestion makes it exit 1")
    func noSuggestion() throws {
        let plain = try CLI.run(["lr-find", "--device", "cpu", "--num-iter", "4"])
        #expect(plain.status == 0)
        #expect(plain.stdout.contains("no suggestion: too few points"), "\(plain.stdout)")
        let required = try CLI.run(["lr-find", "--device", "cpu", "--num-iter", "4", "--require-suggestion"])
        #expect(required.status == 1)
        let bad = try CLI.run(["lr-find", "--device", "cpu", "--start-lr", "1", "--end-lr", "0.1"])
        #expect(bad.status == 64)
    }

    @Test("eta schedule prints one record per step; bad SPECs and metrics files get their codes")
    func schedule() throws {
        let result = try CLI.run(["schedule", "cosine:t_max=10", "--lr", "0.1", "--steps", "12", "--format", "jsonl"])
        #expect(result.status == 0)
        let records = try result.stdout.split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
        #expect(records.count == 12)
        #expect(records[0]["step"] as? Int == 0 && records[0]["lr"] as? Double == 0.1)
        #expect((records[10]["lr"] as! Double) < 1e-12)
        let table = try CLI.run(["schedule", "onecycle", "--steps", "50"])
        #expect(table.status == 0 && table.stdout.contains("*") && table.stdout.contains("momentum"))
        #expect(try CLI.run(["schedule", "cosine:t_max=-1"]).status == 64)
        #expect(try CLI.run(["schedule", "plateau"]).status == 64)
        #expect(try CLI.run(["schedule", "plateau", "--metrics", "/nonexistent/m.txt"]).status == 66)
        let dir = folder()
        try "1\n1\nabc\n".write(toFile: dir.path + "/m.txt", atomically: true, encoding: .utf8)
        let bad = try CLI.run(["schedule", "plateau", "--metrics", dir.path + "/m.txt"])
        #expect(bad.status == 65 && bad.stderr.contains("m.txt:3"))
        try (0..<20).map { _ in "1.0" }.joined(separator: "\n").write(
            toFile: dir.path + "/flat.txt", atomically: true, encoding: .utf8)
        let plateau = try CLI.run([
            "schedule", "plateau:patience=2", "--metrics", dir.path + "/flat.txt", "--steps", "10", "--format", "jsonl",
        ])
        #expect(plateau.stdout.contains("\"lr\": 0.01"), "\(plateau.stdout)")
    }
}

@Suite("eta train divergence guard")
struct GuardCLITests {
    @Test("abort exits 75; every action is an anomaly record and a stderr line")
    func guardCLI() throws {
        let dir = folder()
        let aborted = try CLI.run([
            "train", "--device", "cpu", "--dataset", "diabetes", "--optimizer", "sgd:lr=5", "--quiet",
            "--log", dir.path + "/a.jsonl",
        ])
        #expect(aborted.status == 75)
        #expect(aborted.stderr.contains("anomaly at step") && aborted.stderr.contains("diverged"))
        let log = try String(contentsOfFile: dir.path + "/a.jsonl", encoding: .utf8)
        #expect(log.contains("\"event\": \"anomaly\"") && log.contains("\"status\": \"diverged\""))
        let rolled = try CLI.run([
            "train", "--device", "cpu", "--dataset", "diabetes", "--optimizer", "sgd:lr=0.005", "--quiet",
            "--epochs", "20", "--log-every", "1", "--on-nonfinite", "rollback", "--spike-factor", "3",
            "--log", dir.path + "/r.jsonl",
        ])
        #expect(rolled.status == 0, "\(rolled.stderr)")
        #expect(try String(contentsOfFile: dir.path + "/r.jsonl", encoding: .utf8).contains("\"action\": \"rollback\""))
        #expect(try CLI.run(["train", "--device", "cpu", "--on-nonfinite", "ignore"]).status == 64)
        #expect(try CLI.run(["train", "--device", "cpu", "--spike-factor", "0.5"]).status == 64)
    }
}

@Suite("eta sweep")
struct SweepCLITests {
    @Test("JSON results, per-lr CSV and a plot; bad ranges exit 64")
    func sweep() throws {
        let dir = folder()
        let result = try CLI.run([
            "sweep", "--device", "cpu", "--lrs", "1e-3,1e-2", "--epochs", "2", "--format", "json",
            "--csv", dir.path + "/sweep.csv", "--plot", dir.path + "/sweep.svg",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as! [String: Any]
        #expect((json["runs"] as? [[String: Any]])?.count == 2)
        #expect(json["recommended_lr"] is Double)
        #expect(try String(contentsOfFile: dir.path + "/sweep.csv", encoding: .utf8).hasPrefix("lr,final_train_loss"))
        #expect(
            try String(contentsOfFile: dir.path + "/sweep.svg", encoding: .utf8).contains(
                "Final loss against learning rate"))
        #expect(try CLI.run(["sweep", "--device", "cpu", "--log-range", "1:0.1:3"]).status == 64)
        #expect(try CLI.run(["sweep", "--device", "cpu"]).status == 64)
        #expect(try CLI.run(["sweep", "--device", "cpu", "--lrs", "0.1", "--schedule", "plateau"]).status == 64)
    }
}

@Suite("eta train with matrix optimizers")
struct MatrixOptimizerCLITests {
    @Test(
        "Muon with --aux-optimizer and Adafactor train, checkpoint their per-tensor state, and resume; misuse exits 64")
    func muonAndAdafactor() throws {
        let dir = folder()
        let muon = try CLI.run([
            "train", "--device", "cpu", "--epochs", "2", "--optimizer", "muon:lr=0.02", "--aux-optimizer",
            "adamw:lr=1e-3,beta2=0.95", "--checkpoint", dir.path, "--format", "json",
        ])
        #expect(muon.status == 0, "\(muon.stderr)")
        let summary = try JSONSerialization.jsonObject(with: Data(muon.stdout.utf8)) as! [String: Any]
        #expect((summary["val_accuracy"] as? Double ?? 0) > 0.8, "\(summary)")
        let url = URL(fileURLWithPath: dir.path + "/checkpoint-latest.safetensors")
        let checkpoint = try Checkpoint.read(from: url)
        #expect(checkpoint.metadata["aux_optimizer"]?.hasPrefix("adamw:lr=0.001,") == true)
        let names = checkpoint.tensors.map(\.name)
        #expect(names.contains("optimizer.momentum_buffer.layer0.weight"), "\(names)")
        #expect(names.contains("optimizer.exp_avg.layer0.bias") && !names.contains("optimizer.exp_avg.layer0.weight"))
        let resumed = try CLI.run(["train", "--device", "cpu", "--epochs", "3", "--resume", url.path])
        #expect(resumed.status == 0, "\(resumed.stderr)")

        let adafactorDir = folder()
        let adafactor = try CLI.run([
            "train", "--device", "cpu", "--epochs", "2", "--optimizer", "adafactor:lr=0.01", "--checkpoint",
            adafactorDir.path,
        ])
        #expect(adafactor.status == 0, "\(adafactor.stderr)")
        let factored = try Checkpoint.read(
            from: URL(fileURLWithPath: adafactorDir.path + "/checkpoint-latest.safetensors"))
        let rowVar = factored.tensors.first { $0.name == "optimizer.row_var.layer0.weight" }
        let weight = factored.tensors.first { $0.name == "layer0.weight" }
        #expect(rowVar?.shape == [weight!.shape[0], 1], "row_var keeps PyTorch's shape")
        #expect(factored.tensors.contains { $0.name == "optimizer.variance.layer0.bias" })

        for (arguments, message) in [
            (["--optimizer", "adam", "--aux-optimizer", "sgd"], "--aux-optimizer applies to muon only"),
            (["--optimizer", "muon", "--aux-optimizer", "adafactor"], "cannot be adafactor"),
            (["--optimizer", "muon:adjust_lr_fn=spectral"], "expected one of original, match_rms_adamw"),
            (["--optimizer", "muon:ns_steps=2.5"], "must be an integer"),
            (["--optimizer", "adafactor:d=0.5"], "must be >= 1"),
            (["--optimizer", "muon", "--param-group", "bias:lr_scale=0.1"], "not supported by muon"),
            (["--optimizer", "adafactor", "--state-dtype", "bf16"], "adafactor keeps float32 states"),
        ] {
            let result = try CLI.run(["train", "--device", "cpu", "--epochs", "1"] + arguments)
            #expect(result.status == 64 && result.stderr.contains(message), "\(arguments): \(result.stderr)")
        }
    }
}

@Suite("eta train --early-stop and checkpoint-best")
struct EarlyStopCLITests {
    @Test("stops on the chosen metric, keeps the best epoch's checkpoint, resumes the trackers; bad values exit 64")
    func earlyStop() throws {
        let dir = folder()
        let run = try CLI.run([
            "train", "--device", "cpu", "--epochs", "60", "--early-stop", "2,metric=val_loss", "--best-metric",
            "val_accuracy", "--checkpoint", dir.path, "--format", "json", "--log", dir.path + "/log.jsonl",
        ])
        #expect(run.status == 0, "\(run.stderr)")
        let summary = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as! [String: Any]
        #expect(summary["status"] as? String == "early_stopped", "\(summary)")
        let epochs = summary["epochs"] as! Int, bestEpoch = summary["best_epoch"] as! Int
        #expect(epochs < 60 && epochs == (summary["early_stop_best_epoch"] as! Int) + 2, "\(summary)")
        #expect(summary["best_metric"] as? String == "val_accuracy" && bestEpoch <= epochs)
        let best = try Checkpoint.read(from: URL(fileURLWithPath: dir.path + "/checkpoint-best.safetensors"))
        #expect(best.metadata["epoch"] == String(bestEpoch) && best.metadata["best_metric"] == "val_accuracy")
        let log = try String(contentsOfFile: dir.path + "/log.jsonl", encoding: .utf8)
        #expect(log.contains("\"event\": \"best_checkpoint\"") && log.contains("\"status\": \"early_stopped\""))
        let latest = try Checkpoint.read(from: URL(fileURLWithPath: dir.path + "/checkpoint-latest.safetensors"))
        #expect(latest.metadata["early_stop"] == "2,min_delta=0.0,metric=val_loss")
        // Resumed, the trackers continue from the checkpoint's state (the same best epochs, nothing left to train).
        let resumed = try CLI.run([
            "train", "--device", "cpu", "--epochs", String(epochs), "--resume",
            dir.path + "/checkpoint-latest.safetensors", "--checkpoint", dir.path, "--format", "json",
        ])
        let again = try JSONSerialization.jsonObject(with: Data(resumed.stdout.utf8)) as! [String: Any]
        #expect(again["early_stop_best_epoch"] as? Int == summary["early_stop_best_epoch"] as? Int, "\(again)")
        #expect(again["best_epoch"] as? Int == bestEpoch && again["best_metric"] as? String == "val_accuracy")
        for (arguments, message) in [
            (["--early-stop", "0"], "PATIENCE >= 1"), (["--early-stop", "3,metric=f1"], "invalid metric 'f1'"),
            (["--best-metric", "loss"], "valid values are val_loss, val_accuracy"),
        ] {
            let result = try CLI.run(["train", "--device", "cpu", "--epochs", "1"] + arguments)
            #expect(result.status == 64 && result.stderr.contains(message), "\(arguments): \(result.stderr)")
        }
    }
}
