/// What one pass of a network works on: the batch's input, its size, and the mode.
struct PassContext {
    /// The batch's first sample.
    var input: DeviceSlice
    /// Samples in the batch.
    var batch: Int
    /// Training behaviour (batch statistics, dropout) rather than evaluation.
    var training: Bool
    /// Backward: add to the gradient arena (later micro-batches of gradient accumulation).
    var accumulateGradients = false
}

/// The device buffers of a network's layers, sized once for the largest batch, so a step allocates nothing: per node
/// its output, the output's gradient, the pre-activation where a nonlinearity needs it, and a work buffer (a
/// convolution's patches, a max pool's winners, a normalisation's saved statistics, attention's per-head Q, K, V and
/// probabilities); and scratch shared by the layers (convolutions' patch gradients, attention's backward pass).
final class ActivationPlan {
    /// One node's buffers (nil where it needs none).
    struct NodeBuffers {
        var value: DeviceBuffer?
        var gradient: DeviceBuffer?
        var preactivation: DeviceBuffer?
        var work: DeviceBuffer?
    }

    /// Floats per node: output (and its gradient), pre-activation, work.
    private let sizes: [(value: Int, preactivation: Int, work: Int)]
    /// Floats of the shared patch-gradient scratch.
    private let patchGradientSize: Int
    /// Floats of the shared attention scratch (`AttentionLaunch.scratchFloats`).
    private let attentionScratchSize: Int
    /// Per node and input: whether its backward pass adds to that input's gradient (another reader of the input
    /// wrote it first: a residual branch) rather than overwriting it.
    let accumulates: [[Bool]]
    /// The buffers, once allocated.
    private(set) var nodes: [NodeBuffers] = []
    /// The shared patch-gradient scratch, once allocated.
    private(set) var patchGradient: DeviceBuffer?
    /// The shared attention scratch, once allocated.
    private(set) var attentionScratch: DeviceBuffer?

    /// Every buffer's size in floats, for the memory check before allocating.
    var bufferSizes: [Int] {
        sizes.flatMap { [$0.value, $0.value, $0.preactivation, $0.work] }.filter { $0 > 0 }
            + [patchGradientSize, attentionScratchSize]
    }

    /// - Parameters:
    ///   - architecture: The model.
    ///   - maxBatch: The largest batch, in samples.
    ///   - replicas: Models side by side.
    /// - Throws: `EtaError` `.usage` when a layer cannot run several replicas; `.software` for a graph whose
    ///   backward pass would need to add into a gradient a layer can only overwrite.
    init(architecture: ModelArchitecture, maxBatch: Int, replicas: Int) throws {
        let (k, b) = (replicas, maxBatch)
        var sizes: [(Int, Int, Int)] = []
        var patchGradientSize = 0, attentionScratchSize = 0
        /// A product of sizes that fits in memory's address range (×4 bytes), or a usage error naming the batch.
        func size(_ factors: Int...) throws -> Int {
            var product = 1
            for factor in factors + [MemoryLayout<Float>.size] {
                let (next, overflow) = product.multipliedReportingOverflow(by: factor)
                guard !overflow else {
                    throw EtaError(
                        .usage, "this model at batch \(maxBatch) needs more bytes than any machine addresses")
                }
                product = next
            }
            return product / MemoryLayout<Float>.size
        }
        for node in architecture.nodes {
            let input = architecture.shape(of: node.inputs.first ?? LayerNode.modelInput)
            let value = try size(k, b, node.shape.count)
            var (preactivation, work) = (0, 0)
            switch node.operation {
            case .dense(_, let activation, _):
                preactivation = activation == .identity ? 0 : value
            case .convolution(_, let kernel, _, _, _, let activation):
                preactivation = activation == .identity ? 0 : value
                let patches = try size(k, b, node.shape.positions, input.channels, kernel, kernel) / k
                work = (node.inputs[0] == LayerNode.modelInput ? 1 : k) * patches
                if node.inputs[0] != LayerNode.modelInput { patchGradientSize = max(patchGradientSize, k * patches) }
            case .pool(let kind, _, _, _): work = kind == .max ? value : 0
            case .channelBias: preactivation = value
            case .batchNorm: work = k * 4 * node.shape.channels
            case .layerNorm: work = try size(2, b, node.shape.positions)
            case .attention(let heads):
                let (t, width) = (node.shape.positions, node.shape.channels / heads)
                work = try size(b, t, 3 * heads * width + heads * t)
                attentionScratchSize = max(attentionScratchSize, try size(b, t, 4 * heads * width + heads * t))
            default: break
            }
            switch node.operation {
            case .layerNorm, .embedding, .attention:
                guard k > 1 else { break }
                throw EtaError(
                    .usage,
                    "\(node.name): a transformer layer cannot train several replicas side by side yet; sweep this "
                        + "model one learning rate per run (eta train --lr ...)")
            default: break
            }
            sizes.append((value, preactivation, work))
        }
        self.sizes = sizes
        self.patchGradientSize = patchGradientSize
        self.attentionScratchSize = attentionScratchSize
        accumulates = try Self.accumulation(architecture)
    }

    /// Walks the graph backwards: the first backward writer of an input's gradient overwrites it, later ones add.
    private static func accumulation(_ architecture: ModelArchitecture) throws -> [[Bool]] {
        var written = Set<Int>()
        var flags = architecture.nodes.map { [Bool](repeating: false, count: $0.inputs.count) }
        for index in architecture.nodes.indices.reversed() {
            let node = architecture.nodes[index]
            for (position, input) in node.inputs.enumerated() where input != LayerNode.modelInput {
                flags[index][position] = written.contains(input)
                written.insert(input)
                switch node.operation {
                case .activation:
                    guard flags[index][position] else { break }
                    throw EtaError(
                        .software,
                        "\(node.name) reads a tensor another layer also reads; its backward pass cannot add into "
                            + "that tensor's gradient")
                default: break
                }
            }
        }
        return flags
    }

    /// Allocates every buffer (once; zero-filled).
    ///
    /// - Parameter backend: The backend to allocate on.
    /// - Throws: The backend's error.
    func allocate(on backend: Backend) throws {
        func make(_ count: Int) throws -> DeviceBuffer? { count > 0 ? try backend.makeBuffer(count: count) : nil }
        nodes = try sizes.map { size in
            NodeBuffers(
                value: try make(size.value), gradient: try make(size.value),
                preactivation: try make(size.preactivation),
                work: try make(size.work))
        }
        patchGradient = try make(patchGradientSize)
        attentionScratch = try make(attentionScratchSize)
    }
}
