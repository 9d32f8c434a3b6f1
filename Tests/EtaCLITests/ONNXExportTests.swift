import Eta
import Foundation
import Testing

/// onnxruntime (and onnx's checker) on an exported model: runs `inputs` (row-major, `shape` per row) through the graph
/// and returns its `logits`, flattened.
enum ONNXRuntime {
    static let script = """
        import json, sys
        import numpy as np, onnx, onnxruntime as ort
        request = json.load(open(sys.argv[1]))
        onnx.checker.check_model(onnx.load(request["model"]), full_check=True)
        session = ort.InferenceSession(request["model"], providers=["CPUExecutionProvider"])
        dtype = np.int64 if request["tokens"] else np.float32
        x = np.array(request["inputs"], dtype=dtype).reshape([-1] + request["shape"])
        name = session.get_inputs()[0].name
        print(json.dumps([float(v) for v in session.run(["logits"], {name: x})[0].reshape(-1)]))
        """

    static func run(model: String, inputs: [Float], shape: [Int], tokens: Bool) throws -> [Float] {
        let request = URL(fileURLWithPath: model + ".json")
        let body: [String: Any] = ["model": model, "inputs": inputs.map(Double.init), "shape": shape, "tokens": tokens]
        try JSONSerialization.data(withJSONObject: body).write(to: request)
        let data = try runPython(script, [request.path], reader: "onnxruntime")
        return (try JSONSerialization.jsonObject(with: data) as! [Double]).map(Float.init)
    }
}

@Suite("eta export --format onnx, run by onnxruntime")
struct ONNXExportTests {
    /// Training options per model kind, each trained briefly from the CLI and exported.
    static let kinds: [(name: String, arguments: [String])] = [
        ("mlp", ["--model", "mlp:hidden=32/16,act=gelu", "--epochs", "1"]),
        ("mlp-mup", ["--model", "mlp:hidden=64/64", "--parametrization", "mup:base_width=16", "--epochs", "1"]),
        ("softmax", ["--dataset", "iris", "--model", "softmax", "--epochs", "2"]),
        ("cnn", ["--model", "cnn:channels=4/8,kernel=3,hidden=16", "--input-shape", "1x8x8", "--epochs", "1"]),
        (
            "cnn-bn",
            ["--model", "cnn:channels=4,kernel=3,hidden=16,batchnorm=true", "--input-shape", "1x8x8", "--epochs", "1"]
        ),
        ("resnet", ["--model", "resnet:blocks=1/1,width=4", "--input-shape", "1x8x8", "--epochs", "1"]),
        ("regression", ["--dataset", "diabetes", "--model", "mlp:hidden=16,act=tanh", "--epochs", "2"]),
        ("gpt", ["--model", "gpt:layers=2,heads=2,embed=16,context=8", "--steps", "10"]),
    ]

    @Test(
        "every model kind: onnxruntime's outputs equal Eta's on the same raw inputs within 1e-5",
        arguments: kinds.indices)
    func matchesEta(index: Int) throws {
        let (name, arguments) = Self.kinds[index]
        let dir = folder()
        var train = ["train", "--device", "cpu", "--quiet", "--checkpoint", dir.path] + arguments
        if name == "gpt" { train += ["--dataset", "text:" + (try textCorpusFile())] }
        let trained = try CLI.run(train)
        #expect(trained.status == 0, "\(name): \(trained.stderr)")
        let checkpointPath = dir.path + "/checkpoint-latest.safetensors"
        let model = dir.path + "/model.onnx"
        let export = try CLI.run(["export", checkpointPath, "--format", "onnx", "-o", model])
        #expect(export.status == 0, "\(name): \(export.stderr)")
        let checkpoint = try Checkpoint.read(from: URL(fileURLWithPath: checkpointPath))
        let architecture = try checkpoint.inferenceArchitecture()
        var random = SplitMix64(seed: 21)
        let rows = 3
        let expected: [Float], inputs: [Float], shape: [Int]
        if architecture.readsTokens {
            let vocabulary = architecture.outputShape.channels, context = architecture.inputShape.positions
            inputs = (0..<(rows * context)).map { _ in Float(random.next() % UInt64(vocabulary)) }
            shape = [context]
            let network = try Network(
                architecture: architecture, loss: .crossEntropy, optimizer: try OptimizerConfiguration(spec: "sgd"),
                maxBatch: rows, backend: CPUBackend())
            try checkpoint.loadModel(into: network)
            let buffer = try network.backend.makeBuffer(count: inputs.count)
            try network.backend.write(inputs, to: buffer)
            try network.forward(input: buffer, inputOffset: 0, rows: rows)
            expected = try network.readOutputs(rows: rows)
        } else {
            let predictor = try Predictor(checkpoint: checkpoint, backend: CPUBackend())
            // Raw values on the data's scale (digits' pixels are 0...16, iris' and diabetes' features a few units).
            inputs = (0..<(rows * predictor.features)).map { _ in abs(random.uniform()) * 16 }
            let input = architecture.inputShape
            shape = architecture.inputChannelsFirst ? [input.channels, input.height, input.width] : [input.count]
            expected = try predictor.logits(inputs).flatMap { $0 }
        }
        let actual = try ONNXRuntime.run(model: model, inputs: inputs, shape: shape, tokens: architecture.readsTokens)
        #expect(actual.count == expected.count, "\(name): \(actual.count) outputs, Eta \(expected.count)")
        let scale = max(1, expected.map { abs(Double($0)) }.max() ?? 0)
        let worst = zip(actual, expected).map { abs(Double($0) - Double($1)) }.max() ?? .infinity
        #expect(worst <= 1e-5 * scale, "\(name): max |onnx - eta| \(worst) at scale \(scale)")
    }

    @Test("averaged weights and bad requests")
    func options() throws {
        let dir = folder()
        let trained = try CLI.run([
            "train", "--device", "cpu", "--quiet", "--epochs", "2", "--ema", "0.9", "--checkpoint", dir.path,
        ])
        #expect(trained.status == 0)
        let path = dir.path + "/checkpoint-latest.safetensors"
        let model = try CLI.run(["export", path, "-o", dir.path + "/m.onnx"])
        let ema = try CLI.run(["export", path, "-o", dir.path + "/ema.onnx", "--weights", "ema"])
        #expect(model.status == 0 && ema.status == 0)
        let a = try Data(contentsOf: URL(fileURLWithPath: dir.path + "/m.onnx"))
        let b = try Data(contentsOf: URL(fileURLWithPath: dir.path + "/ema.onnx"))
        #expect(a.count == b.count && a != b, "the EMA graph holds other weights")
        let swa = try CLI.run(["export", path, "-o", dir.path + "/swa.onnx", "--weights", "swa"])
        #expect(swa.status == 65 && swa.stderr.contains("--swa-start"), "\(swa.stderr)")
        let format = try CLI.run(["export", path, "--format", "tflite", "-o", dir.path + "/x"])
        #expect(format.status == 64 && format.stderr.contains("writes onnx"))
        let missing = try CLI.run(["export", dir.path + "/none.safetensors", "-o", dir.path + "/x.onnx"])
        #expect(missing.status == 66)
    }
}
