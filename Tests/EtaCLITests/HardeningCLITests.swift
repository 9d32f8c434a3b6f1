import Eta
import Foundation
import Testing

/// Runs `eta` through `/bin/sh` so a test can set what a hostile environment does: a full device on stdout, a
/// closed stdout, a file-size limit (a disk that fills up, without needing a real full disk).
func shell(_ script: String, _ arguments: [String]) throws -> CLI.Result {
    try CLI.run(["-c", script, CLI.binary.path] + arguments, executable: URL(fileURLWithPath: "/bin/sh"))
}

@Suite("hostile input and environments: clean errors, documented exit codes")
struct HardeningCLITests {
    @Test("write errors exit 74 naming the destination: a full device, a closed stdout")
    func writeErrors() throws {
        let full = try shell(
            #"exec "$0" "$@" > /dev/full"#,
            ["schedule", "cosine:t_max=100", "--lr", "0.1", "--steps", "100000", "--format", "jsonl"])
        #expect(full.status == 74, "\(full.stderr)")
        #expect(
            full.stderr.contains("cannot write to standard output: No space left on device (ENOSPC)"), "\(full.stderr)")
        let closed = try shell(#"exec "$0" "$@" >&-"#, ["schedule", "cosine:t_max=100", "--steps", "10"])
        #expect(closed.status == 74, "\(closed.stderr)")
        #expect(closed.stderr.contains("standard output"), "\(closed.stderr)")
        // With stdout closed, a log file opened later must not take descriptor 1 and receive the summary.
        let dir = folder()
        let train = try shell(
            #"exec "$0" "$@" >&-"#,
            [
                "train", "--device", "cpu", "--dataset", "iris", "--epochs", "1", "--quiet",
                "--log", dir.path + "/run.jsonl",
            ])
        #expect(train.status == 74, "\(train.stderr)")
        let log = try String(contentsOfFile: dir.path + "/run.jsonl", encoding: .utf8)
        #expect(!log.contains("dataset      iris") && log.contains("\"event\": \"run_end\""), "\(log)")
        #expect(
            log.contains("\"status\": \"output_failed\"") && log.contains("\"exit_code\": 74"),
            "the log records the real exit: \(log)")
    }

    @Test("nohup: a SIGHUP the parent ignores stays ignored; SIGTERM still stops the run cleanly")
    func nohup() throws {
        let dir = folder()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = [
            "-c", #"trap '' HUP; exec "$0" "$@""#, CLI.binary.path, "train", "--device", "cpu", "--epochs", "100000",
            "--dataset", "iris", "--quiet", "--log", dir.path + "/run.jsonl",
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        try waitForSteps(in: dir.path + "/run.jsonl.partial")
        kill(process.processIdentifier, SIGHUP)
        Thread.sleep(forTimeInterval: 0.5)
        #expect(process.isRunning, "SIGHUP stopped a run started under nohup")
        kill(process.processIdentifier, SIGTERM)
        #expect(waitForExit(process))
        #expect(process.terminationReason == .exit && process.terminationStatus == 143)
    }

    @Test(
        """
        a log that stops being writable mid-run: exit 74, the run stops, \
        the CSV log and checkpoint are still finalised
        """
    )
    func lateLogFailure() throws {
        let dir = folder()
        // A 16 KB file-size limit (SIGXFSZ ignored, so writes fail with EFBIG): the JSONL log, written every step,
        // fills it first; the CSV rows are a third as long and the checkpoint is written before the limit is reached.
        let result = try shell(
            #"trap '' XFSZ; ulimit -f 16; exec "$0" "$@""#,
            [
                "train", "--device", "cpu", "--dataset", "iris", "--epochs", "1000", "--log-every", "1", "--quiet",
                "--model", "softmax", "--log", dir.path + "/run.jsonl", "--csv", dir.path + "/run.csv",
            ])
        #expect(result.status == 74, "\(result.stderr)")
        #expect(result.stderr.contains("File too large (EFBIG)"), "\(result.stderr)")
        #expect(
            FileManager.default.fileExists(atPath: dir.path + "/run.jsonl.partial"), "the incomplete log stays .partial"
        )
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/run.jsonl"))
        let csv = try String(contentsOfFile: dir.path + "/run.csv", encoding: .utf8)
        #expect(csv.hasPrefix("event,step,epoch") && csv.split(separator: "\n").count > 10)
        #expect(result.stdout.contains("status       interrupted"), "the summary is still printed: \(result.stdout)")
    }

    @Test("output paths are checked before training: an unwritable plot or checkpoint folder fails at once")
    func outputsCheckedFirst() throws {
        let dir = folder()
        for bad in [
            ["--plot", "/proc/no-such-folder/plot.svg"], ["--checkpoint", "/proc/no-such-folder"],
            ["--plot", dir.path],
        ] {
            let result = try CLI.run(
                [
                    "train", "--device", "cpu", "--dataset", "iris", "--epochs", "1000000", "--quiet",
                    "--log", dir.path + "/run.jsonl",
                ] + bad)
            #expect(result.status == 74, "\(bad): \(result.stderr)")
            #expect(result.stderr.contains("cannot write"), "\(bad): \(result.stderr)")
            #expect(!result.stderr.contains("Error Domain"), "no raw NSError text: \(result.stderr)")
            #expect(!FileManager.default.fileExists(atPath: dir.path + "/run.jsonl.partial"), "nothing was started")
        }
        for command in [["lr-find", "--num-iter", "5"], ["sweep", "--lrs", "0.1", "--epochs", "1"]] {
            let result = try CLI.run(
                command + ["--device", "cpu", "--dataset", "iris", "--plot", "/proc/no-such-folder/plot.svg"])
            #expect(result.status == 74 && result.stderr.contains("cannot write plot"), "\(command): \(result.stderr)")
        }
    }

    @Test("a NaN epoch loss is never success: exit 75, status diverged, the last good checkpoint kept")
    func nonFiniteEpochLoss() throws {
        let dir = folder()
        let result = try CLI.run([
            "train", "--device", "cpu", "--dataset", "iris", "--epochs", "3", "--optimizer", "adam:lr=1e300",
            "--quiet", "--checkpoint", dir.path, "--log", dir.path + "/run.jsonl",
        ])
        #expect(result.status == 75, "\(result.stderr)")
        #expect(result.stderr.contains("non_finite_epoch_loss"), "\(result.stderr)")
        #expect(
            !FileManager.default.fileExists(atPath: dir.path + "/checkpoint-latest.safetensors"),
            "no checkpoint of NaN parameters")
        let log = try String(contentsOfFile: dir.path + "/run.jsonl", encoding: .utf8)
        #expect(log.contains("\"status\": \"diverged\"") && log.contains("\"exit_code\": 75"))
    }

    @Test(
        "untrusted integers and sizes: exit 64 naming the request and the limit, never a trap or an OOM kill",
        arguments: [
            (
                ["train", "--dataset", "iris", "--checkpoint-every", "0", "--checkpoint", "/tmp/eta-unused"],
                "--checkpoint-every must be >= 1"
            ),
            (["train", "--dataset", "iris", "--epochs", "-1"], "--epochs must be >= 0 (got -1)"),
            (["train", "--dataset", "iris", "--epochs", "9223372036854775807"], "overflows the step count"),
            (
                ["lr-find", "--dataset", "iris", "--num-iter", "9223372036854775807"],
                "--num-iter must be in 2...10000000"
            ),
            (["explore", "--steps", "9223372036854775807"], "--steps must be in 0...10000000"),
            (["schedule", "cosine:t_max=10", "--steps", "9223372036854775807"], "--steps must be in 0...10000000"),
            (["bench", "--params", "9223372036854775807"], "more bytes than any machine addresses"),
            (["bench", "--params", "1099511627776"], "GB"),
            (["bench", "--repeat", "9223372036854775807"], "--repeat must be in 1...1000000"),
            (
                ["bench", "--model", "mlp", "--batch-size", "9223372036854775807"],
                "more bytes than any machine addresses"
            ),
            (["verify", "--sizes", "9223372036854775807"], "more bytes than any machine addresses"),
            (["verify", "--sizes", "1099511627776"], "of host memory"),
            (["train", "--model", "mlp:hidden=/", "--dataset", "iris"], "invalid hidden width ''"),
            (["schedule", "onecycle:div_factor=0", "--steps", "5"], "expected a number > 0"),
            (["schedule", "onecycle:final_div_factor=0", "--steps", "5"], "expected a number > 0"),
        ] as [([String], String)])
    func untrustedIntegers(arguments: [String], message: String) throws {
        let result = try CLI.run(arguments + ["--device", "cpu"].filter { _ in arguments.first != "schedule" })
        #expect(result.status == 64, "\(arguments): exit \(result.status), \(result.stderr.suffix(2000))")
        #expect(result.stderr.contains(message), "\(arguments): \(result.stderr.suffix(2000))")
    }

    @Test(
        "a model larger than the device fails before training with the request and the limit",
        arguments: OpenCLPresence.run ? ["cpu", "opencl"] : ["cpu"])
    func modelTooLarge(device: String) throws {
        let result = try CLI.run([
            "train", "--device", device, "--dataset", "iris", "--model", "mlp:hidden=1000000/1000000", "--quiet",
        ])
        #expect(result.status == 64, "\(result.stderr)")
        #expect(
            result.stderr.contains("4000.0 GB")
                && result.stderr.contains(device == "cpu" ? "available memory" : "CL_DEVICE_MAX_MEM_ALLOC_SIZE"),
            "\(result.stderr)")
    }

    @Test(
        "a batch size far above the rows trains with buffers sized by the rows",
        arguments: ["train", "lr-find", "sweep"])
    func hugeBatch(command: String) throws {
        var arguments = [command, "--device", "cpu", "--dataset", "iris", "--batch-size", "9223372036854775807"]
        arguments +=
            command == "train"
            ? ["--epochs", "2", "--quiet"]
            : command == "sweep" ? ["--lrs", "0.01,0.1", "--epochs", "2"] : ["--num-iter", "5"]
        // Buffers sized by the requested batch would need tens of GB (the issue saw 20 GB for 10,000,000): under a
        // 4 GB address-space cap that run cannot even start, while one sized by iris's 150 rows fits easily.
        // AddressSanitizer reserves terabytes of address space for its shadow: no cap under tools/asan-test.sh.
        let cap = ProcessInfo.processInfo.environment["ASAN_OPTIONS"] == nil ? "ulimit -v 4000000; " : ""
        let result = try shell(cap + #"exec "$0" "$@""#, arguments)
        #expect(result.status == 0, "\(result.stderr.suffix(2000))")
    }

    @Test(
        """
        smaller ones: ETA_DEVICE named as such, long echoed values cut, \
        bce on one class, negative numbers read as values
        """
    )
    func smallerOnes() throws {
        let device = try CLI.run(["explore", "--steps", "1"], environment: ["ETA_DEVICE": "garbage"])
        #expect(device.status == 69 && device.stderr.contains("ETA_DEVICE=garbage"), "\(device.stderr)")
        let long = try CLI.run([
            "explore", "--device", "cpu", "--optimizer", "sgd:lr=" + String(repeating: "1", count: 100_000),
        ])
        #expect(
            long.status == 64 && long.stderr.count < 4_000 && long.stderr.contains("characters cut"),
            "\(long.stderr.count) bytes")
        let dir = folder()
        let csv = dir.path + "/one-class.csv"
        try "a,b,label\n1,2,0\n3,4,0\n5,6,0\n7,8,0\n9,10,0\n".write(toFile: csv, atomically: true, encoding: .utf8)
        for loss in ["bce", "cross_entropy"] {
            let result = try CLI.run([
                "train", "--device", "cpu", "--dataset", "csv:" + csv, "--task", "classification", "--loss", loss,
                "--epochs", "1", "--quiet",
            ])
            #expect(result.status == 64, "\(loss): \(result.stderr)")
        }
    }
}
