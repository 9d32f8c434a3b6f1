import Eta
import Foundation
import Testing

@Suite("eta sample: text from a trained GPT checkpoint")
struct SampleCLITests {
    /// A checkpoint of a small GPT trained for a few steps on `textCorpusFile()`.
    static func checkpoint(device: String = "cpu") throws -> (file: String, vocabulary: Set<Character>) {
        let path = try textCorpusFile(), checkpoints = folder()
        let result = try CLI.run(
            [
                "train", "--device", device, "--dataset", "text:" + path, "--model",
                "gpt:layers=1,heads=2,embed=16,context=16",
            ]
                + [
                    "--steps", "20", "--batch-size", "8", "--val-batches", "2", "--quiet", "--checkpoint",
                    checkpoints.path,
                ])
        #expect(result.status == 0, "\(result.stderr)")
        let text = try String(contentsOfFile: path, encoding: .utf8)
        return (checkpoints.appendingPathComponent("checkpoint-latest.safetensors").path, Set(text))
    }

    @Test("continues the prompt with the asked number of characters from the vocabulary, the same for a seed")
    func generates() throws {
        for device in OpenCLPresence.run ? ["cpu", "opencl"] : ["cpu"] {
            let (file, vocabulary) = try Self.checkpoint(device: device)
            func sample(_ extra: [String]) throws -> String {
                let result = try CLI.run(
                    ["sample", "--device", device, "--checkpoint", file, "--prompt", "a rose", "--tokens", "40"]
                        + extra)
                #expect(result.status == 0, "\(device): \(result.stderr)")
                return result.stdout
            }
            let first = try sample(["--seed", "3"]), again = try sample(["--seed", "3"])
            let other = try sample(["--seed", "4"]), greedy = try sample(["--temperature", "0"])
            #expect(first.hasPrefix("a rose") && first.hasSuffix("\n"), "\(first)")
            // The prompt, 40 characters, the final newline (counted as scalars, as the vocabulary is).
            #expect(first.unicodeScalars.count == 6 + 40 + 1, "\(first)")
            #expect(first.dropLast().allSatisfy { vocabulary.contains($0) }, "\(first)")
            #expect(first == again)
            #expect(first != other)
            #expect(greedy == (try sample(["--temperature", "0", "--seed", "9"])))
        }
    }

    @Test("--weights ema samples from the moving average; an average the checkpoint lacks exits 65")
    func averagedWeights() throws {
        let path = try textCorpusFile(), checkpoints = folder()
        let trained = try CLI.run([
            "train", "--device", "cpu", "--dataset", "text:" + path, "--model",
            "gpt:layers=1,heads=2,embed=16,context=16",
            "--steps", "20", "--batch-size", "8", "--val-batches", "2", "--quiet", "--checkpoint", checkpoints.path,
            "--ema", "0.9",
        ])
        #expect(trained.status == 0, "\(trained.stderr)")
        let file = checkpoints.appendingPathComponent("checkpoint-latest.safetensors").path
        func sample(_ weights: String) throws -> CLI.Result {
            try CLI.run([
                "sample", "--device", "cpu", "--checkpoint", file, "--tokens", "60", "--seed", "1", "--weights",
                weights,
            ])
        }
        let model = try sample("model"), ema = try sample("ema")
        // Which tensors load is checked value by value in ParameterAverageTests; here, that the option reaches them.
        #expect(model.status == 0 && ema.status == 0, "\(ema.stderr)")
        #expect(ema.stdout.unicodeScalars.count == 60 + 1, "\(ema.stdout)")
        let swa = try sample("swa")
        #expect(swa.status == 65 && swa.stderr.contains("holds no swa weights"), "\(swa.stderr)")
        let bad = try sample("mean")
        #expect(bad.status == 64 && bad.stderr.contains("valid values are model, ema, swa"), "\(bad.stderr)")
    }

    @Test("a prompt outside the vocabulary exits 64; a checkpoint of another model kind exits 65")
    func errors() throws {
        let (file, _) = try Self.checkpoint()
        let bad = try CLI.run(["sample", "--device", "cpu", "--checkpoint", file, "--prompt", "Zebra€"])
        #expect(bad.status == 64 && bad.stderr.contains("not in the vocabulary") && bad.stdout.isEmpty, "\(bad.stderr)")
        let checkpoints = folder()
        let digits = try CLI.run([
            "train", "--device", "cpu", "--epochs", "1", "--quiet", "--checkpoint", checkpoints.path,
        ])
        #expect(digits.status == 0)
        let mlp = try CLI.run([
            "sample", "--checkpoint", checkpoints.appendingPathComponent("checkpoint-latest.safetensors").path,
        ])
        #expect(mlp.status == 65 && mlp.stderr.contains("eta sample needs a gpt model"), "\(mlp.stderr)")
        let missing = try CLI.run(["sample", "--checkpoint", "/nonexistent/checkpoint.safetensors"])
        #expect(missing.status == 66)
        let negative = try CLI.run(["sample", "--checkpoint", file, "--temperature", "-1"])
        #expect(negative.status == 64 && negative.stderr.contains("--temperature"))
    }
}
