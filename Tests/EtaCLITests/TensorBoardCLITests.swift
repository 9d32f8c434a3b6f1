import Eta
import Foundation
import Testing

/// TensorBoard's own reader (`EventAccumulator` from the tensorboard Python package, installed by tools/setup.sh) on a
/// run folder: scalar tags with their (step, value) pairs and histogram tags with (step, count, min, max).
enum TensorBoardReader {
    static let script = """
        import glob, json, struct, sys
        from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
        from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c
        # Every record's two masked CRC-32Cs, checked with TensorBoard's own function (its reader skips them).
        for path in glob.glob(sys.argv[1] + "/*tfevents*"):
            data, i = open(path, "rb").read(), 0
            while i < len(data):
                (n,) = struct.unpack("<Q", data[i:i + 8])
                (a,) = struct.unpack("<I", data[i + 8:i + 12]); (b,) = struct.unpack("<I", data[i + 12 + n:i + 16 + n])
                if masked_crc32c(data[i:i + 8]) != a or masked_crc32c(data[i + 12:i + 12 + n]) != b:
                    sys.exit("bad CRC in " + path + " at byte " + str(i))
                i += 16 + n
        acc = EventAccumulator(sys.argv[1], size_guidance={"scalars": 0, "histograms": 0})
        acc.Reload()
        tags = acc.Tags()
        print(json.dumps({
            "scalars": {t: [[e.step, e.value] for e in acc.Scalars(t)] for t in tags["scalars"]},
            "histograms": {t: [[e.step, e.histogram_value.num, e.histogram_value.min, e.histogram_value.max]
                               for e in acc.Histograms(t)] for t in tags["histograms"]}}))
        """

    static func read(_ folder: String) throws -> (scalars: [String: [[Double]]], histograms: [String: [[Double]]]) {
        let data = try runPython(script, [folder], reader: "TensorBoard's reader")
        let json = try JSONSerialization.jsonObject(with: data) as! [String: [String: [[Double]]]]
        return (json["scalars"]!, json["histograms"]!)
    }
}

@Suite("TensorBoard event files, read by TensorBoard")
struct TensorBoardCLITests {
    @Test("train: step and epoch scalars equal the JSONL log's; parameter histograms every N steps")
    func train() throws {
        let dir = folder()
        let run = try CLI.run([
            "train", "--device", "cpu", "--epochs", "2", "--log-every", "5", "--tensorboard", dir.path + "/tb",
            "--histogram-every", "10", "--log", dir.path + "/log.jsonl", "--quiet",
        ])
        #expect(run.status == 0, "\(run.stderr)")
        let board = try TensorBoardReader.read(dir.path + "/tb")
        let records = try String(contentsOfFile: dir.path + "/log.jsonl", encoding: .utf8).split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
        let steps = records.filter { $0["event"] as? String == "step" }
        let epochs = records.filter { $0["event"] as? String == "epoch" }
        func same(_ tag: String, _ rows: [[String: Any]], _ key: String, stepKey: String = "step") {
            let expected = rows.compactMap { row in (row[key] as? Double).map { [Double(row[stepKey] as! Int), $0] } }
            let actual = board.scalars[tag] ?? []
            #expect(actual.count == expected.count && !actual.isEmpty, "\(tag): \(actual.count) vs \(expected.count)")
            for (a, e) in zip(actual, expected) {
                #expect(a[0] == e[0] && abs(a[1] - e[1]) <= 1e-6 * max(1, abs(e[1])), "\(tag): \(a) vs \(e)")
            }
        }
        same("train/loss", steps, "loss")
        same("train/lr", steps, "lr")
        same("train/grad_norm", steps, "grad_norm")
        same("epoch/train_loss", epochs, "train_loss")
        same("epoch/val_loss", epochs, "val_loss")
        same("epoch/val_accuracy", epochs, "val_accuracy")
        let histogram = try #require(board.histograms["parameters/layer0.weight"])
        let lastStep = Double(epochs.last!["step"] as! Int)
        #expect(histogram.map { $0[0] }.contains(10) && histogram.last?[0] == lastStep, "\(histogram.map { $0[0] })")
        #expect(histogram.allSatisfy { $0[1] == 128 * 64 && $0[2] < 0 && $0[3] > 0 })
        let bad = try CLI.run(["train", "--device", "cpu", "--histogram-every", "5"])
        #expect(bad.status == 64 && bad.stderr.contains("needs --tensorboard"), "\(bad.stderr)")
    }

    @Test("lr-find writes its curve; sweep writes one run per replica (per width with --widths)")
    func lrFindAndSweep() throws {
        let dir = folder()
        let find = try CLI.run([
            "lr-find", "--device", "cpu", "--num-iter", "30", "--tensorboard", dir.path + "/find", "--log",
            dir.path + "/find.jsonl",
        ])
        #expect(find.status == 0, "\(find.stderr)")
        let curve = try TensorBoardReader.read(dir.path + "/find")
        let points = try String(contentsOfFile: dir.path + "/find.jsonl", encoding: .utf8).split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
        let losses = curve.scalars["lr_find/loss"] ?? []
        #expect(
            losses.count == points.count
                && Set(curve.scalars.keys).isSuperset(of: ["lr_find/lr", "lr_find/smoothed_loss"]))
        for (a, p) in zip(losses, points) {
            let expected = p["loss"] as! Double
            #expect(a[0] == Double(p["iteration"] as! Int) && abs(a[1] - expected) <= 1e-6 * max(1, abs(expected)))
        }
        let sweep = try CLI.run([
            "sweep", "--device", "cpu", "--lrs", "1e-3,1e-2", "--epochs", "2", "--tensorboard", dir.path + "/sweep",
            "--format", "json",
        ])
        #expect(sweep.status == 0, "\(sweep.stderr)")
        let runs =
            (try JSONSerialization.jsonObject(with: Data(sweep.stdout.utf8)) as! [String: Any])["runs"]
            as! [[String: Any]]
        for (name, run) in zip(["lr_0.001", "lr_0.01"], runs) {
            let replica = try TensorBoardReader.read(dir.path + "/sweep/" + name)
            let epochLoss = try #require(replica.scalars["epoch/train_loss"]?.last?[1])
            #expect(abs(epochLoss - (run["final_train_loss"] as! Double)) <= 1e-6, "\(name)")
            #expect(replica.scalars["train/loss"]?.isEmpty == false && replica.scalars["epoch/val_loss"]?.count == 1)
        }
        let widths = try CLI.run([
            "sweep", "--device", "cpu", "--lrs", "1e-2", "--epochs", "1", "--widths", "16,32", "--tensorboard",
            dir.path + "/widths",
        ])
        #expect(widths.status == 0, "\(widths.stderr)")
        let folders = try FileManager.default.contentsOfDirectory(atPath: dir.path + "/widths").sorted()
        #expect(folders == ["width_16_lr_0.01", "width_32_lr_0.01"], "\(folders)")
    }
}
