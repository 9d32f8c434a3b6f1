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
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["checkpoint-latest.safetensors"])
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
