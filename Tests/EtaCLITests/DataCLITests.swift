import Eta
import Foundation
import Testing

/// A tiny MNIST-like folder: 40 training and 10 t10k 2x2 images (labels 0...2 by the brightest pixel).
func tinyIDX() throws -> URL {
    let dir = folder()
    func header(_ magic: UInt32, _ dims: [Int]) -> [UInt8] {
        ([magic] + dims.map(UInt32.init)).flatMap { w in (0..<4).map { UInt8(truncatingIfNeeded: w >> (24 - 8 * $0)) } }
    }
    for (prefix, count) in [("train", 40), ("t10k", 10)] {
        let labels = (0..<count).map { UInt8(($0 * 7 + 1) % 3) }
        let pixels = labels.flatMap { label in (0..<4).map { UInt8($0 == Int(label) ? 240 : 20 + $0) } }
        try Data(header(0x0803, [count, 2, 2]) + pixels).write(
            to: dir.appendingPathComponent("\(prefix)-images.idx3-ubyte"))
        try Data(header(0x0801, [count]) + labels).write(to: dir.appendingPathComponent("\(prefix)-labels.idx1-ubyte"))
    }
    return dir
}

@Suite("eta train: datasets with test splits, input shapes, normalisation, steps")
struct DataCLITests {
    func json(_ text: String) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    @Test("idx: reports test loss and accuracy: the summary, --format json and the JSONL run_end record")
    func testMetrics() throws {
        let data = try tinyIDX()
        let log = folder().appendingPathComponent("run.jsonl").path
        let common = ["train", "--device", "cpu", "--dataset", "idx:" + data.path, "--epochs", "3", "--quiet"]
        let table = try CLI.run(common + ["--log", log, "--batch-size", "8"])
        #expect(table.status == 0, "\(table.stderr)")
        #expect(table.stdout.contains("(32 train, 8 validation, 10 test rows)"), "\(table.stdout)")
        #expect(table.stdout.contains("test         loss "), "\(table.stdout)")
        let lines = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n")
        let start = try json(String(lines.first!)), end = try json(String(lines.last!))
        #expect(start["test_rows"] as? Int == 10 && start["normalize"] as? String == "pixels")
        #expect(start["sample_shape"] as? [Int] == [1, 2, 2])
        #expect(end["event"] as? String == "run_end" && end["test_loss"] is Double && end["test_accuracy"] is Double)
        let summary = try json(try CLI.run(common + ["--format", "json"]).stdout)
        #expect(summary["test_loss"] is Double && summary["test_accuracy"] is Double, "\(summary)")
        #expect(summary["val_loss"] is Double && summary["wall_seconds"] is Double)
        let digits = try json(try CLI.run(["train", "--device", "cpu", "--epochs", "1", "--format", "json"]).stdout)
        #expect(digits["test_loss"] is NSNull && digits["test_accuracy"] is NSNull, "\(digits)")
        let sweep = try CLI.run(
            [
                "sweep", "--device", "cpu", "--dataset", "idx:" + data.path, "--lrs", "0.001,0.01", "--epochs", "2",
                "--format", "json",
            ])
        #expect(sweep.status == 0, "\(sweep.stderr)")
        let runs = try #require(try json(sweep.stdout)["runs"] as? [[String: Any]])
        #expect(runs.count == 2 && runs.allSatisfy { $0["test_loss"] is Double }, "\(runs)")
    }

    @Test("--steps stops after N optimizer steps; a checkpoint resumed with more steps continues")
    func steps() throws {
        let dir = folder()
        let first = try CLI.run([
            "train", "--device", "cpu", "--steps", "30", "--format", "json", "--checkpoint", dir.path, "--quiet",
        ])
        #expect(first.status == 0, "\(first.stderr)")
        let summary = try json(first.stdout)
        #expect(summary["steps"] as? Int == 30 && summary["epochs"] as? Int == 1, "\(summary)")
        let resumed = try CLI.run([
            "train", "--device", "cpu", "--steps", "40", "--format", "json", "--quiet", "--resume",
            dir.appendingPathComponent("checkpoint-latest.safetensors").path,
        ])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(try json(resumed.stdout)["steps"] as? Int == 40)
        let both = try json(
            try CLI.run(["train", "--device", "cpu", "--steps", "1000", "--epochs", "2", "--format", "json"]).stdout)
        #expect(both["steps"] as? Int == 46, "two epochs of 23 steps come first")
    }

    @Test("--input-shape reads rows as images; bad shapes, modes and counts exit 64, a missing folder 66")
    func options() throws {
        let ok = try CLI.run([
            "train", "--device", "cpu", "--input-shape", "1x8x8", "--normalize", "standard", "--epochs", "1",
            "--quiet",
        ])
        #expect(ok.status == 0, "\(ok.stderr)")
        for (arguments, code, message) in [
            (["--input-shape", "1x8x9"], Int32(64), "input shape 1x8x9 holds 72 values per sample"),
            (["--input-shape", "1x8x9"], 64, "digits has 64 features per row"),
            (["--input-shape", "8by8"], 64, "expected CxHxW"),
            (["--normalize", "zscore"], 64, "standard, pixels, none"),
            (["--steps", "0"], 64, "--steps"),
            (["--dataset", "cifar:/nonexistent/cifar"], 66, "no such folder"),
            (["--dataset", "imagenet:/x"], 64, "cifar:DIR"),
        ] {
            let result = try CLI.run(["train", "--device", "cpu", "--epochs", "1"] + arguments)
            #expect(result.status == code, "\(arguments): \(result.stderr)")
            #expect(result.stderr.contains(message), "\(arguments): \(result.stderr)")
        }
        let bench = try CLI.run([
            "bench", "--device", "cpu", "--model", "mlp:hidden=32", "--input-shape", "1x8x8", "--repeat", "1",
            "--format", "json",
        ])
        #expect(bench.status == 0 && bench.stdout.contains("\"model\": \"64-32-10\""), "\(bench.stdout)")
        let disagree = try CLI.run(["bench", "--model", "mlp", "--inputs", "10", "--input-shape", "1x2x2"])
        #expect(disagree.status == 64 && disagree.stderr.contains("(4 values) disagree"), "\(disagree.stderr)")
    }
}
