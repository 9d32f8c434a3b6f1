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
