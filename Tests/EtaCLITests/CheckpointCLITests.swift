import Eta
import Foundation
import Testing

/// `eta train --resume` on damaged and hostile checkpoints, and the temporaries killed runs leave.
@Suite("eta train checkpoints")
struct CheckpointCLITests {
    /// A one-epoch iris run's checkpoint in a fresh folder.
    static func checkpoint() throws -> (folder: URL, file: URL) {
        let dir = folder()
        let run = try CLI.run([
            "train", "--device", "cpu", "--quiet", "--dataset", "iris", "--epochs", "1", "--checkpoint", dir.path,
        ])
        #expect(run.status == 0, "\(run.stderr)")
        return (dir, dir.appendingPathComponent("checkpoint-latest.safetensors"))
    }

    @Test(
        """
        a resume refuses a flipped metadata byte ('checksum') and, with a valid checksum, \
        out-of-range fields naming them
        """,
        arguments: [
            ("lr_scale", "1.0", "checksum"), ("seed", "abc", "seed"), ("step", "9223372036854775807", "step"),
            ("epochs", "9223372036854775807", "epochs"), ("skipped_steps", "-100", "skipped_steps"),
        ])
    func hostileResume(key: String, value: String, check: String) throws {
        let (_, file) = try Self.checkpoint()
        if check == "checksum" {
            var text = [UInt8](try Data(contentsOf: file))
            let needle = Array("\"\(key)\": \"\(value)\"".utf8)
            let at = try #require(
                (0...(text.count - needle.count)).first { text[$0..<($0 + needle.count)].elementsEqual(needle) })
            text[at + needle.count - 4] = UInt8(ascii: "9")  // lr_scale 1.0 -> 9.0
            try Data(text).write(to: file)
        } else {
            var checkpoint = try Checkpoint.read(from: file)
            checkpoint.metadata[key] = value
            try checkpoint.serialized().write(to: file)
        }
        let resumed = try CLI.run(["train", "--device", "cpu", "--quiet", "--resume", file.path])
        #expect(resumed.status == 65, "\(resumed.stderr)")
        #expect(resumed.stderr.contains("checkpoint check '\(check)' failed"), "\(resumed.stderr)")
    }

    @Test("the next run removes the temporaries of a killed checkpoint write")
    func staleTemporaries() throws {
        let (dir, _) = try Self.checkpoint()
        let finished = Process()
        finished.executableURL = URL(fileURLWithPath: "/bin/true")
        try finished.run()
        finished.waitUntilExit()
        let stale = dir.appendingPathComponent(".checkpoint-latest.safetensors.\(finished.processIdentifier).4242.tmp")
        try Data("partial".utf8).write(to: stale)
        let run = try CLI.run([
            "train", "--device", "cpu", "--quiet", "--dataset", "iris", "--epochs", "1", "--checkpoint", dir.path,
        ])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(!FileManager.default.fileExists(atPath: stale.path))
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == [
                "checkpoint-best.safetensors", "checkpoint-latest.safetensors",
            ])
    }
}

@Suite("eta eval")
struct EvalCLITests {
    @Test("eval gives the trained run's validation loss from its checkpoint; averages, mismatches 65, missing 66")
    func evaluate() throws {
        let dir = folder()
        let train = try CLI.run([
            "train", "--device", "cpu", "--epochs", "2", "--ema", "0.9", "--checkpoint", dir.path, "--format", "json",
        ])
        #expect(train.status == 0, "\(train.stderr)")
        let trained = try JSONSerialization.jsonObject(with: Data(train.stdout.utf8)) as! [String: Any]
        let path = dir.path + "/checkpoint-latest.safetensors"
        let eval = try CLI.run(["eval", "--device", "cpu", "--checkpoint", path, "--format", "json"])
        #expect(eval.status == 0, "\(eval.stderr)")
        let result = try JSONSerialization.jsonObject(with: Data(eval.stdout.utf8)) as! [String: Any]
        #expect(result["val_loss"] as? Double == trained["val_loss"] as? Double, "\(result) vs \(trained)")
        #expect(result["val_accuracy"] as? Double == trained["val_accuracy"] as? Double)
        let ema = try CLI.run(["eval", "--device", "cpu", "--checkpoint", path, "--weights", "ema", "--format", "json"])
        let averaged = try JSONSerialization.jsonObject(with: Data(ema.stdout.utf8)) as! [String: Any]
        #expect(averaged["val_loss"] as? Double == trained["ema_val_loss"] as? Double, "\(averaged)")
        let other = try CLI.run(["eval", "--device", "cpu", "--checkpoint", path, "--dataset", "iris"])
        #expect(other.status == 65 && other.stderr.contains("in the file") && other.stderr.contains("in this model"))
        let missing = try CLI.run(["eval", "--device", "cpu", "--checkpoint", dir.path + "/none.safetensors"])
        #expect(missing.status == 66, "\(missing.stderr)")
        let swa = try CLI.run(["eval", "--device", "cpu", "--checkpoint", path, "--weights", "swa"])
        #expect(swa.status == 65 && swa.stderr.contains("--swa-start"), "\(swa.stderr)")
    }
}

@Suite("eta predict")
struct PredictCLITests {
    /// Three separable blobs with features on very different scales (so the carried standardisation matters).
    static func blobs(_ url: URL, rows: Int, label: Bool) throws {
        var random = SplitMix64(seed: 3)
        var text = label ? "a,b,c,label\n" : "a,b,c\n"
        for i in 0..<rows {
            let c = Float(i % 3)
            let x = [100 + 3 * c + random.uniform(), -100 * c + 50 * random.uniform(), random.uniform()]
            text += x.map { "\($0)" }.joined(separator: ",") + (label ? ",\(i % 3)" : "") + "\n"
        }
        try text.write(to: url, atomically: true, encoding: .utf8)
    }

    @Test("raw CSV rows (with or without the label) give probabilities through the carried standardisation")
    func csv() throws {
        let dir = folder()
        let data = dir.appendingPathComponent("blobs.csv"), unlabeled = dir.appendingPathComponent("new.csv")
        try Self.blobs(data, rows: 300, label: true)
        try Self.blobs(unlabeled, rows: 300, label: false)
        let train = try CLI.run([
            "train", "--device", "cpu", "--dataset", "csv:" + data.path, "--epochs", "10", "--checkpoint", dir.path,
        ])
        #expect(train.status == 0, "\(train.stderr)")
        let checkpoint = dir.path + "/checkpoint-latest.safetensors"
        let labeled = try CLI.run(["predict", "--device", "cpu", "--checkpoint", checkpoint, "--input", data.path])
        let plain = try CLI.run(["predict", "--device", "cpu", "--checkpoint", checkpoint, "--input", unlabeled.path])
        #expect(labeled.status == 0 && plain.status == 0, "\(labeled.stderr) \(plain.stderr)")
        #expect(labeled.stdout == plain.stdout, "the label column is dropped")
        let lines = labeled.stdout.split(separator: "\n")
        #expect(lines.first == "p_0,p_1,p_2,predicted" && lines.count == 301)
        var correct = 0
        for (i, line) in lines.dropFirst().enumerated() {
            let fields = line.split(separator: ",").map { Double($0)! }
            #expect(abs(fields[0] + fields[1] + fields[2] - 1) < 1e-5)
            if Int(fields[3]) == i % 3 { correct += 1 }
        }
        #expect(correct >= 270, "\(correct)/300 correct")
        let jsonl = try CLI.run([
            "predict", "--device", "cpu", "--checkpoint", checkpoint, "--input", "csv:" + data.path, "--format",
            "jsonl",
            "--output", dir.path + "/p.jsonl",
        ])
        #expect(jsonl.status == 0)
        #expect(
            try String(contentsOfFile: dir.path + "/p.jsonl", encoding: .utf8).hasPrefix(
                "{\"row\": 0, \"probabilities\": ["))
        let narrow = dir.appendingPathComponent("narrow.csv")
        try "1,2\n3,4\n".write(to: narrow, atomically: true, encoding: .utf8)
        let mismatch = try CLI.run(["predict", "--device", "cpu", "--checkpoint", checkpoint, "--input", narrow.path])
        #expect(mismatch.status == 65 && mismatch.stderr.contains("has 2 columns; the model takes 3 features"))
        let bad = try CLI.run(["predict", "--checkpoint", checkpoint, "--input", "rows.txt"])
        #expect(bad.status == 64 && bad.stderr.contains("csv:PATH, idx:PATH"), "\(bad.stderr)")
    }

    @Test("IDX images go in as pixels and are scaled by 1/255 as training scaled them")
    func idx() throws {
        let dir = folder()
        var random = SplitMix64(seed: 9)
        func idxFile(magic: UInt32, dims: [Int], bytes: [UInt8]) -> Data {
            var data = Data()
            for word in [magic] + dims.map(UInt32.init) {
                withUnsafeBytes(of: word.bigEndian) { data.append(contentsOf: $0) }
            }
            data.append(contentsOf: bytes)
            return data
        }
        let n = 120
        var pixels: [UInt8] = [], labels: [UInt8] = []
        for i in 0..<n {
            let label = UInt8(i % 2)
            labels.append(label)
            // Class 1 lights the left half of the 4x4 image, class 0 the right half.
            for p in 0..<16 {
                let lit = (p % 4 < 2) == (label == 1)
                pixels.append(lit ? UInt8(200 + Int(random.uniform() * 50)) : UInt8(abs(Int(random.uniform() * 30))))
            }
        }
        try idxFile(magic: 0x0803, dims: [n, 4, 4], bytes: pixels).write(
            to: dir.appendingPathComponent("train-images-idx3-ubyte"))
        try idxFile(magic: 0x0801, dims: [n], bytes: labels).write(
            to: dir.appendingPathComponent("train-labels-idx1-ubyte"))
        let train = try CLI.run([
            "train", "--device", "cpu", "--dataset", "idx:" + dir.path, "--epochs", "10", "--checkpoint", dir.path,
        ])
        #expect(train.status == 0, "\(train.stderr)")
        let run = try CLI.run([
            "predict", "--device", "cpu", "--checkpoint", dir.path + "/checkpoint-latest.safetensors", "--input",
            "idx:" + dir.path + "/train-images-idx3-ubyte",
        ])
        #expect(run.status == 0, "\(run.stderr)")
        let predicted = run.stdout.split(separator: "\n").dropFirst().map { Int($0.split(separator: ",").last!)! }
        #expect(predicted.count == n)
        #expect(zip(predicted, labels).filter { $0 == Int($1) }.count >= n - 2, "\(predicted)")
    }
}

@Suite("eta predict on a GPT")
struct PredictTextCLITests {
    @Test("text:PATH gives next-character probabilities per line, the greedy choice eta sample takes; mismatches 65")
    func gpt() throws {
        let dir = folder()
        let corpus = try textCorpusFile()
        let train = try CLI.run([
            "train", "--device", "cpu", "--dataset", "text:" + corpus, "--model",
            "gpt:layers=1,heads=2,embed=16,context=8",
            "--steps", "30", "--checkpoint", dir.path, "--quiet",
        ])
        #expect(train.status == 0, "\(train.stderr)")
        let checkpoint = dir.path + "/checkpoint-latest.safetensors"
        let prompts = dir.appendingPathComponent("prompts.txt")
        try "what is a\nrose by any oth\n".write(to: prompts, atomically: true, encoding: .utf8)
        let run = try CLI.run([
            "predict", "--device", "cpu", "--checkpoint", checkpoint, "--input", "text:" + prompts.path, "--format",
            "jsonl",
        ])
        #expect(run.status == 0, "\(run.stderr)")
        let rows = run.stdout.split(separator: "\n").map {
            try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
        #expect(rows.count == 2)
        for row in rows {
            let probabilities = row["probabilities"] as! [Double]
            #expect(abs(probabilities.reduce(0, +) - 1) < 1e-5)
            let sample = try CLI.run([
                "sample", "--device", "cpu", "--checkpoint", checkpoint, "--prompt", row["prompt"] as! String,
                "--tokens",
                "1", "--temperature", "0",
            ])
            // sample prints the prompt, the new character, then a newline.
            let prompt = row["prompt"] as! String
            let next =
                sample.stdout.hasPrefix(prompt) ? sample.stdout.dropFirst(prompt.count).first.map(String.init) : nil
            #expect(next == row["predicted"] as? String, "\(prompt): \(sample.stdout.debugDescription)")
        }
        try "ZEBRA\n".write(to: prompts, atomically: true, encoding: .utf8)
        let outside = try CLI.run([
            "predict", "--device", "cpu", "--checkpoint", checkpoint, "--input", "text:" + prompts.path,
        ])
        #expect(outside.status == 65 && outside.stderr.contains("not in the vocabulary"), "\(outside.stderr)")
        let rowsForGPT = try CLI.run([
            "predict", "--device", "cpu", "--checkpoint", checkpoint, "--input", prompts.path + ".csv",
        ])
        #expect(rowsForGPT.status == 65 && rowsForGPT.stderr.contains("give --input text:PATH"), "\(rowsForGPT.stderr)")
    }
}
