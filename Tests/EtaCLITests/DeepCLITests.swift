import Eta
import Foundation
import Testing

@Suite("eta with the deep models: memory report, shape errors, what cannot run")
struct DeepCLITests {
    static let digitsImages = ["--dataset", "digits", "--input-shape", "1x8x8", "--device", "cpu"]

    @Test("a CNN run reports its device memory in the summary and the JSON")
    func memoryReport() throws {
        let model = ["--model", "cnn:channels=4/8,hidden=16,batchnorm=true", "--epochs", "1"]
        let json = try CLI.run(["train"] + Self.digitsImages + model + ["--format", "json", "--quiet"])
        #expect(json.status == 0, "\(json.stderr)")
        let summary = try #require(JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let bytes = try #require(summary["device_memory_bytes"] as? Int)
        #expect(bytes > 100_000 && bytes < 10_000_000, "\(bytes)")
        #expect(summary["val_loss"] is Double)
        let table = try CLI.run(["train"] + Self.digitsImages + model + ["--quiet"])
        #expect(table.stdout.contains("MB on the device"), "\(table.stdout)")
    }

    @Test(
        "models that do not fit their inputs or the machine exit 64 naming why",
        arguments: [
            (["--model", "cnn:channels=4/4/4/4"], "pooling window does not fit"),
            (["--model", "resnet:blocks=1/1/1/1/1,width=2"], "below 1x1"),
            (["--model", "cnn:channels=4096/4096,hidden=16777216"], "needs"),
            (["--model", "gpt:layers=1,heads=2,embed=8,context=8"], "context=8 reads 8 tokens"),
        ])
    func shapeErrors(arguments: [String], message: String) throws {
        let result = try CLI.run(["train"] + Self.digitsImages + arguments + ["--epochs", "1", "--quiet"])
        #expect(result.status == 64 && result.stderr.contains(message), "\(result.stderr)")
    }

    @Test("a GPT sweeps one learning rate after another: each lr gives its own separate run's loss")
    func gptSweep() throws {
        let path = try textCorpusFile()
        let model = "gpt:layers=1,heads=2,embed=8,context=8"
        let result = try CLI.run([
            "sweep", "--device", "cpu", "--dataset", "text:" + path, "--model", model, "--lrs", "1e-3,1e-2",
            "--steps", "12", "--format", "json",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let runs =
            (try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as! [String: Any])["runs"]
            as! [[String: Any]]
        let single = try CLI.run([
            "sweep", "--device", "cpu", "--dataset", "text:" + path, "--model", model, "--lrs", "1e-2", "--steps",
            "12", "--format", "json",
        ])
        let alone =
            (try JSONSerialization.jsonObject(with: Data(single.stdout.utf8)) as! [String: Any])["runs"]
            as! [[String: Any]]
        #expect(runs.count == 2 && runs[1]["final_train_loss"] as? Double == alone[0]["final_train_loss"] as? Double)
    }
}
