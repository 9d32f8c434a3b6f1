import Eta
import Foundation
import Testing

/// A text file of short lines (every character appears in its first 90%), in a fresh folder.
func textCorpusFile(lines: Int = 120, transform: (String) -> String = { $0 }) throws -> String {
    var random = SplitMix64(seed: 11)
    let words = ["what", "is", "a", "name", "rose", "by", "any", "other", "would", "smell", "as", "sweet"]
    let text =
        (0..<lines).map { _ in (0..<6).map { _ in words[Int(random.next() % 12)] }.joined(separator: " ") }
        .joined(separator: "\n") + "\n"
    let path = folder().appendingPathComponent("play.txt").path
    try transform(text).write(toFile: path, atomically: true, encoding: .utf8)
    return path
}

@Suite("eta train on text: gpt models, bits per character, vocabularies in checkpoints")
struct TextCLITests {
    static let gpt = ["--model", "gpt:layers=1,heads=2,embed=16,context=16"]

    func json(_ text: String) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    @Test("eta train --dataset text:FILE --model gpt:... --steps 5: val_loss and val_bpc in JSON and JSONL")
    func endToEnd() throws {
        let path = try textCorpusFile()
        for device in OpenCLPresence.run ? ["cpu", "opencl"] : ["cpu"] {
            let logPath = folder().appendingPathComponent("run.jsonl").path
            let result = try CLI.run(
                ["train", "--device", device, "--dataset", "text:" + path] + Self.gpt
                    + ["--steps", "5", "--batch-size", "8", "--val-batches", "2", "--format", "json", "--quiet"]
                    + ["--log", logPath])
            #expect(result.status == 0, "\(device): \(result.stderr)")
            let summary = try json(result.stdout)
            for key in ["val_loss", "val_accuracy", "train_loss", "wall_seconds", "samples_per_second"] {
                #expect(summary[key] is Double, "\(device): \(key) in \(summary)")
            }
            let loss = try #require(summary["val_loss"] as? Double), bits = try #require(summary["val_bpc"] as? Double)
            // Both printed in float32's shortest form: bpc = loss / ln 2 to float32 precision.
            #expect(abs(bits - loss / log(2.0)) <= 1e-6 * bits, "\(device): \(summary)")
            #expect(summary["train_bpc"] is Double && summary["steps"] as? Int == 5)
            let records = try String(contentsOfFile: logPath, encoding: .utf8).split(separator: "\n").map {
                try json(String($0))
            }
            let start = try #require(records.first)
            #expect(start["vocabulary_size"] as? Int == 18 && start["val_batches"] as? Int == 2, "\(start)")
            #expect(start["val_rows"] as? Int == 16 && start["sample_shape"] as? [Int] == [16])
            #expect(start["val_fraction"] is NSNull && start["normalize"] as? String == "none")
            let epochs = records.filter { $0["event"] as? String == "epoch" }
            #expect(!epochs.isEmpty && epochs.allSatisfy { $0["val_bpc"] is Double && $0["train_bpc"] is Double })
        }
        // Tables keep today's keys and no bpc.
        let digits = try json(try CLI.run(["train", "--device", "cpu", "--epochs", "1", "--format", "json"]).stdout)
        #expect(digits["val_loss"] is Double && digits["val_bpc"] == nil && digits["train_bpc"] == nil)
    }

    @Test("the table summary shows bits per character; a resumed text run continues bit for bit")
    func summaryAndResume() throws {
        let path = try textCorpusFile()
        let common = ["train", "--device", "cpu", "--dataset", "text:" + path] + Self.gpt + ["--batch-size", "8"]
        let (whole, part) = (folder(), folder())
        let table = try CLI.run(common + ["--steps", "30", "--checkpoint", whole.path, "--quiet"])
        #expect(table.status == 0, "\(table.stderr)")
        #expect(table.stdout.contains("validation characters, vocabulary 18"), "\(table.stdout)")
        #expect(
            table.stdout.range(
                of: #"validation   loss \d\.\d{4}   accuracy [\d.]+%   bpc \d\.\d{4}"#,
                options: .regularExpression) != nil, "\(table.stdout)")
        let first = try CLI.run(common + ["--steps", "13", "--checkpoint", part.path, "--quiet"])
        #expect(first.status == 0, "\(first.stderr)")
        let checkpoint = part.appendingPathComponent("checkpoint-latest.safetensors")
        // The checkpoint supplies the dataset, model and batch size.
        let resumed = try CLI.run([
            "train", "--device", "cpu", "--steps", "30", "--checkpoint", part.path, "--resume", checkpoint.path,
            "--quiet",
        ])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let a = try Data(contentsOf: whole.appendingPathComponent("checkpoint-latest.safetensors"))
        #expect(a == (try Data(contentsOf: checkpoint)), "the resumed run's checkpoint equals the uninterrupted run's")
        #expect(try Checkpoint.read(from: checkpoint).vocabulary?.count == 18)
        // Other text: exit 65 naming both vocabularies.
        let shouted = try textCorpusFile { $0.uppercased() }
        let other = try CLI.run([
            "train", "--device", "cpu", "--dataset", "text:" + shouted, "--steps", "40", "--resume", checkpoint.path,
        ])
        #expect(other.status == 65, "\(other.stderr)")
        #expect(other.stderr.contains("'vocabulary'") && other.stderr.contains("\"\\n abdehilmnorstuwy\""))
        #expect(other.stderr.contains("\"\\n ABDEHILMNORSTUWY\""), "\(other.stderr)")
    }

    @Test(
        "text errors: missing file 66, short or non-UTF-8 text 65, a model that is not a gpt and misplaced options 64",
        arguments: [
            (["--dataset", "text:/no/such/play.txt"] + gpt, Int32(66), "no such file"),
            (["--dataset", "text:SHORT"] + gpt, 65, "too few for windows of context + 1 = 17"),
            (["--dataset", "text:LATIN1"] + gpt, 65, "not UTF-8 text: byte 0xE9 at byte offset 6"),
            (["--dataset", "text:GOOD"], 64, "text datasets need a gpt model"),
            (["--dataset", "shakespeare", "--model", "mlp:hidden=8"], 64, "text datasets need a gpt model"),
            (["--dataset", "text:GOOD", "--val-fraction", "0.1"] + gpt, 64, "--val-fraction does not apply"),
            (["--dataset", "iris", "--val-batches", "3"], 64, "--val-batches applies to text datasets"),
            (["--dataset", "text:GOOD", "--val-batches", "-1"] + gpt, 64, "--val-batches must be >= 0"),
            (["--dataset", "text:GOOD", "--normalize", "standard"] + gpt, 64, "does not apply to the text dataset"),
            (["--dataset", "text:GOOD", "--input-shape", "4x4"] + gpt, 64, "does not apply to the text dataset"),
        ] as [([String], Int32, String)])
    func errors(arguments: [String], status: Int32, message: String) throws {
        let files = [
            "SHORT": try textCorpusFile(lines: 2), "GOOD": try textCorpusFile(),
            "LATIN1": try { () throws -> String in
                let path = folder().appendingPathComponent("latin1.txt").path
                try Data([0x52, 0x6F, 0x6D, 0x65, 0x6F, 0x20, 0xE9, 0x0A]).write(to: URL(fileURLWithPath: path))
                return path
            }(),
        ]
        let resolved = arguments.map { argument in
            files.reduce(argument) { $0.replacingOccurrences(of: "text:" + $1.key, with: "text:" + $1.value) }
        }
        let result = try CLI.run(["train", "--device", "cpu", "--steps", "1"] + resolved)
        #expect(result.status == status, "\(resolved): \(result.stderr)")
        #expect(result.stderr.contains(message), "\(resolved): \(result.stderr)")
    }

    @Test("--help lists text:PATH, shakespeare and --val-batches")
    func help() throws {
        let help = try CLI.run(["train", "--help"])
        for fragment in ["text:PATH", "shakespeare", "--val-batches", "bits per character"] {
            #expect(help.stdout.contains(fragment), "\(fragment)")
        }
    }
}
