import Eta
import Foundation
import Testing

@Suite("eta μP: --parametrization, sweep --widths, coord-check")
struct MaximalUpdateCLITests {
    @Test("coord-check: standard activations grow with width at the readout, μP's stay flat")
    func coordinateCheck() throws {
        func slopes(_ parametrization: String) throws -> [String: Double] {
            let run = try CLI.run([
                "coord-check", "--device", "cpu", "--model", "mlp:hidden=64/64", "--optimizer", "adam:lr=0.01",
                "--parametrization", parametrization, "--widths", "64,256,1024", "--steps", "3", "--seeds", "2",
                "--format", "jsonl",
            ])
            #expect(run.status == 0, "\(run.stderr)")
            let records = run.stdout.split(separator: "\n").map {
                try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
            }
            #expect(records.count == 3 * 3 * 3)
            // log(scale at width 1024 / scale at width 64) / log(16), at the last step.
            var result: [String: Double] = [:]
            for layer in ["layer0", "layer1", "layer2"] {
                func scale(_ width: Int) -> Double {
                    records.first {
                        $0["layer"] as? String == layer && $0["width"] as? Int == width && $0["step"] as? Int == 3
                    }?[
                        "mean_abs"] as? Double ?? .nan
                }
                result[layer] = log(scale(1024) / scale(64)) / log(16)
            }
            return result
        }
        let standard = try slopes("standard"), maximal = try slopes("mup:base_width=64")
        #expect(standard["layer2"]! > 0.5, "standard readout slope \(standard)")
        #expect(maximal.values.allSatisfy { abs($0) < 0.3 }, "μP slopes \(maximal)")
        let bad = try CLI.run(["coord-check", "--device", "cpu", "--model", "softmax", "--widths", "8,16"])
        #expect(bad.status == 64 && bad.stderr.contains("no width"), "\(bad.stderr)")
    }

    @Test("sweep --widths reports the best lr per width and plots a curve per width; μP is kept in checkpoints")
    func widthsAndCheckpoints() throws {
        let dir = folder()
        let sweep = try CLI.run([
            "sweep", "--device", "cpu", "--model", "mlp:hidden=32", "--parametrization", "mup:base_width=16",
            "--widths", "16,64", "--lrs", "1e-3,1e-2", "--epochs", "2", "--format", "json", "--plot",
            dir.path + "/widths.svg", "--log", dir.path + "/widths.jsonl",
        ])
        #expect(sweep.status == 0, "\(sweep.stderr)")
        let summary = try JSONSerialization.jsonObject(with: Data(sweep.stdout.utf8)) as! [String: Any]
        let widths = summary["widths"] as! [[String: Any]]
        #expect(widths.map { $0["width"] as! Int } == [16, 64] && widths.allSatisfy { $0["best_lr"] is Double })
        #expect(summary["parametrization"] as? String == "mup:base_width=16")
        let svg = try String(contentsOfFile: dir.path + "/widths.svg", encoding: .utf8)
        #expect(svg.contains("width 16") && svg.contains("width 64"))
        #expect(try String(contentsOfFile: dir.path + "/widths.jsonl", encoding: .utf8).contains("\"width\": 64"))

        let train = try CLI.run([
            "train", "--device", "cpu", "--model", "mlp:hidden=64", "--parametrization", "mup:base_width=16",
            "--epochs", "1", "--checkpoint", dir.path,
        ])
        #expect(train.status == 0, "\(train.stderr)")
        let url = URL(fileURLWithPath: dir.path + "/checkpoint-latest.safetensors")
        let checkpoint = try Checkpoint.read(from: url)
        #expect(checkpoint.metadata["parametrization"] == "mup:base_width=16")
        #expect(try checkpoint.modelSpec().parametrization == .maximalUpdate(baseWidth: 16))
        let resumed = try CLI.run(["train", "--device", "cpu", "--epochs", "2", "--resume", url.path])
        #expect(resumed.status == 0, "\(resumed.stderr)")

        for (arguments, message) in [
            (["train", "--parametrization", "mup"], "expected standard or mup:base_width=W"),
            (
                ["train", "--parametrization", "mup:base_width=40", "--model", "mlp:hidden=64/100"],
                "not a whole number"
            ),
            (["train", "--parametrization", "mup:base_width=16", "--optimizer", "lamb"], "lamb is not one of them"),
            (["sweep", "--lrs", "1e-3", "--widths", "0,16"], "widths >= 1"),
        ] {
            let result = try CLI.run(arguments + ["--device", "cpu", "--epochs", "1"])
            #expect(result.status == 64 && result.stderr.contains(message), "\(arguments): \(result.stderr)")
        }
    }
}
