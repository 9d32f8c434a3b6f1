import EtaCPU
import EtaCore
import Foundation

/// Exports a checkpoint's model as an ONNX graph (opset 17): the layers as PyTorch's modules compute them in
/// evaluation mode (dropout the identity, BatchNorm on its running statistics), images in NCHW, and the input
/// normalisation the training split applied (standardisation from the checkpoint's statistics, or pixels / 255), so
/// raw rows go in; μP's readout multiplier and attention scale are in the graph. The output is the logits (or the
/// regression outputs), named `logits`; the input is `input` ([batch, features] or [batch, C, H, W]) or, for a GPT,
/// `tokens` (int64 [batch, context]).
///
/// ```swift
/// let bytes = try ONNXExport.model(try Checkpoint.read(from: url))
/// try bytes.write(to: URL(fileURLWithPath: "model.onnx"))
/// ```
public enum ONNXExport {
    /// The operator set the graphs use (LayerNormalization needs 17).
    public static let opset = 17

    /// The serialized ONNX model of `checkpoint`.
    ///
    /// - Parameters:
    ///   - checkpoint: A checkpoint of any model kind.
    ///   - weights: The trained weights or an average the checkpoint holds.
    /// - Returns: The `.onnx` file's bytes.
    /// - Throws: `EtaError` `.dataError` for a checkpoint that does not describe its model or lacks the average.
    public static func model(_ checkpoint: Checkpoint, weights: Checkpoint.Weights = .model) throws -> Data {
        let architecture = try checkpoint.inferenceArchitecture()
        let backend = CPUBackend(threads: 1)
        let network = try Network(
            architecture: architecture, loss: LossKind(rawValue: checkpoint.metadata["loss"] ?? "") ?? .crossEntropy,
            optimizer: try OptimizerConfiguration(spec: "sgd"), maxBatch: 1, backend: backend)
        try checkpoint.loadModel(into: network, weights: weights)
        var builder = Builder(
            architecture: architecture, parameters: try network.arena.download(.parameters),
            running: try network.runningStatistics.map { try backend.read($0) } ?? [])
        try builder.build(metadata: checkpoint.metadata)
        var model = Eta_Onnx_ModelProto()
        model.irVersion = 8
        model.producerName = "eta"
        model.producerVersion = EtaVersion.current
        var opset = Eta_Onnx_OperatorSetIdProto()
        opset.version = Int64(Self.opset)
        model.opsetImport = [opset]
        builder.graph.graph.name = "eta"
        model.graph = builder.graph.graph
        do { return try model.serializedData() } catch {
            throw EtaError(.software, "cannot encode the ONNX model: \(error)")
        }
    }

    struct Builder {
        let architecture: ModelArchitecture
        let parameters: [Float]
        let running: [Float]
        var graph = ONNXGraph()

        func tensor(_ name: String) -> (values: [Float], shape: [Int]) {
            let entry = architecture.layout[name]!
            return (Array(parameters[entry.offset..<(entry.offset + entry.count)]), entry.shape)
        }

        mutating func parameter(_ name: String, shape: [Int]? = nil) -> String {
            let (values, own) = tensor(name)
            return graph.initializer(name, values, shape: shape ?? own)
        }

        mutating func build(metadata: [String: String]) throws {
            let readsTokens = architecture.readsTokens
            let input = architecture.inputShape
            let inputDims =
                architecture.inputChannelsFirst ? [input.channels, input.height, input.width] : [input.count]
            var x = readsTokens ? "tokens" : "input"
            graph.graph.input = [
                ONNXGraph.value(
                    x, elementType: readsTokens ? .int64 : .float, shape: readsTokens ? [input.positions] : inputDims)
            ]
            if !readsTokens {
                switch metadata["normalize"].flatMap(Normalization.init(rawValue:)) ?? .raw {
                case .standard:
                    func array(_ key: String) throws -> [Float] {
                        guard let text = metadata[key],
                            let values = try? JSONDecoder().decode([Float].self, from: Data(text.utf8)),
                            values.count == input.count
                        else {
                            throw EtaError(
                                .dataError,
                                "the checkpoint standardises its inputs but carries no statistics (\(key)): retrain "
                                    + "with this version to export a graph that takes raw rows")
                        }
                        return values
                    }
                    let mean = graph.initializer("normalize_mean", try array("normalize_mean"), shape: inputDims)
                    let deviation = graph.initializer("normalize_std", try array("normalize_std"), shape: inputDims)
                    x = graph.node("Div", [graph.node("Sub", [x, mean]), deviation])
                case .pixels: x = graph.node("Div", [x, graph.scalar(255, "pixel_scale")])
                case .raw: break
                }
            }
            var values: [String] = []
            func value(_ index: Int) -> String { index == LayerNode.modelInput ? x : values[index] }
            for (index, node) in architecture.nodes.enumerated() {
                let first = value(node.inputs.first ?? LayerNode.modelInput)
                values.append(
                    try layer(index, node, first, second: node.inputs.count > 1 ? value(node.inputs[1]) : nil))
            }
            let outputShape = architecture.outputShape
            graph.node("Identity", [values.last!], output: "logits")
            graph.graph.output = [
                ONNXGraph.value(
                    "logits", elementType: .float,
                    shape: readsTokens ? [outputShape.positions, outputShape.channels] : [outputShape.channels])
            ]
        }

        mutating func activate(_ x: String, _ activation: Activation) -> String {
            switch activation {
            case .identity: return x
            case .relu: return graph.node("Relu", [x])
            case .tanh: return graph.node("Tanh", [x])
            case .sigmoid: return graph.node("Sigmoid", [x])
            case .gelu:
                // PyTorch's exact form: 0.5·x·(1 + erf(x/√2)).
                let erf = graph.node("Erf", [graph.node("Mul", [x, graph.scalar(0.70710678118654752, "gelu_scale")])])
                let one = graph.node("Add", [erf, graph.scalar(1, "one")])
                return graph.node("Mul", [graph.node("Mul", [x, graph.scalar(0.5, "half")]), one])
            }
        }

        mutating func layer(_ index: Int, _ node: LayerNode, _ x: String, second: String?) throws -> String {
            switch node.operation {
            case .dense(_, let activation, let bias):
                var input = x
                let multiplier = architecture.inputMultiplier(ofNode: index)
                if multiplier != 1 {
                    input = graph.node("Mul", [input, graph.scalar(multiplier, "readout_multiplier")])
                }
                let (w, shape) = tensor("\(node.name).weight")
                var transposed = [Float](repeating: 0, count: w.count)
                for o in 0..<shape[0] { for i in 0..<shape[1] { transposed[i * shape[0] + o] = w[o * shape[1] + i] } }
                let weight = graph.initializer("\(node.name).weight_t", transposed, shape: [shape[1], shape[0]])
                var y = graph.node("MatMul", [input, weight])
                if bias { y = graph.node("Add", [y, parameter("\(node.name).bias")]) }
                return activate(y, activation)
            case .convolution(_, let kernel, let stride, let padding, let bias, let activation):
                let inputs = [x, parameter("\(node.name).weight")] + (bias ? [parameter("\(node.name).bias")] : [])
                let y = graph.node(
                    "Conv", inputs,
                    attributes: [
                        ONNXGraph.ints("kernel_shape", [kernel, kernel]), ONNXGraph.ints("strides", [stride, stride]),
                        ONNXGraph.ints("pads", [padding, padding, padding, padding]),
                    ])
                return activate(y, activation)
            case .pool(let kind, let kernel, let stride, let padding):
                var attributes = [
                    ONNXGraph.ints("kernel_shape", [kernel, kernel]), ONNXGraph.ints("strides", [stride, stride]),
                    ONNXGraph.ints("pads", [padding, padding, padding, padding]),
                ]
                if kind == .average { attributes.append(ONNXGraph.int("count_include_pad", 1)) }  // PyTorch's default
                return graph.node(kind == .max ? "MaxPool" : "AveragePool", [x], attributes: attributes)
            case .batchNorm:
                func buffer(_ name: String) -> String {
                    let entry = architecture.buffers[name]!
                    return graph.initializer(
                        name, Array(running[entry.offset..<(entry.offset + entry.count)]), shape: entry.shape)
                }
                return graph.node(
                    "BatchNormalization",
                    [
                        x, parameter("\(node.name).weight"), parameter("\(node.name).bias"),
                        buffer("\(node.name).running_mean"), buffer("\(node.name).running_var"),
                    ], attributes: [ONNXGraph.float("epsilon", 1e-5)])
            case .layerNorm:
                return graph.node(
                    "LayerNormalization", [x, parameter("\(node.name).weight"), parameter("\(node.name).bias")],
                    attributes: [ONNXGraph.int("axis", -1), ONNXGraph.float("epsilon", 1e-5)])
            case .activation(let activation): return activate(x, activation)
            case .channelBias(let activation):
                let name = node.parameters[0].name
                let bias = parameter(name, shape: [tensor(name).shape[0], 1, 1])
                return activate(graph.node("Add", [x, bias]), activation)
            case .dropout: return x
            case .flatten: return graph.node("Flatten", [x], attributes: [ONNXGraph.int("axis", 1)])
            case .embedding:
                let tokens = graph.node("Gather", [parameter("token_embedding.weight"), x])
                return graph.node("Add", [tokens, parameter("position_embedding.weight")])
            case .attention(let heads):
                return attention(x, heads: heads, length: node.shape.positions, width: node.shape.channels)
            case .add: return graph.node("Add", [x, second!])
            }
        }

        /// Causal multi-head attention over the fused [q | k | v] projection, as AttentionLaunch computes it.
        mutating func attention(_ qkv: String, heads: Int, length t: Int, width e: Int) -> String {
            let d = e / heads
            let split = graph.node("Reshape", [qkv, graph.integers(graph.name("shape"), [0, 0, 3, heads, d])])
            let parts = graph.node("Transpose", [split], attributes: [ONNXGraph.ints("perm", [2, 0, 3, 1, 4])])
            func part(_ i: Int) -> String {
                graph.node(
                    "Gather", [parts, graph.integers(graph.name("index"), [i])], attributes: [ONNXGraph.int("axis", 0)])
            }
            // Gather with a one-element index keeps that axis: [1, B, H, T, D]; squeeze it.
            func squeezed(_ i: Int) -> String {
                graph.node("Squeeze", [part(i), graph.integers(graph.name("axes"), [0])])
            }
            let (q, k, v) = (squeezed(0), squeezed(1), squeezed(2))
            let keys = graph.node("Transpose", [k], attributes: [ONNXGraph.ints("perm", [0, 1, 3, 2])])
            let scale = architecture.maximalUpdate?.attentionScale ?? 1 / Float(d).squareRoot()
            var scores = graph.node("Mul", [graph.node("MatMul", [q, keys]), graph.scalar(scale, "attention_scale")])
            var mask = [Float](repeating: 0, count: t * t)
            for i in 0..<t { for j in (i + 1)..<max(i + 1, t) { mask[i * t + j] = -.infinity } }
            scores = graph.node("Add", [scores, graph.initializer(graph.name("causal_mask"), mask, shape: [t, t])])
            let probabilities = graph.node("Softmax", [scores], attributes: [ONNXGraph.int("axis", -1)])
            let heads = graph.node(
                "Transpose", [graph.node("MatMul", [probabilities, v])],
                attributes: [ONNXGraph.ints("perm", [0, 2, 1, 3])])
            return graph.node("Reshape", [heads, graph.integers(graph.name("shape"), [0, 0, e])])
        }
    }
}
