/// A run of floats in a device buffer: the buffer and the first element.
public struct DeviceSlice {
    /// The buffer.
    public var buffer: DeviceBuffer
    /// The first element.
    public var offset: Int

    /// - Parameters:
    ///   - buffer: The buffer.
    ///   - offset: The first element.
    public init(_ buffer: DeviceBuffer, offset: Int = 0) {
        self.buffer = buffer
        self.offset = offset
    }
}

/// Which way an operation runs in a training step.
public enum LayerPass: Sendable {
    /// From the input to the output.
    case forward
    /// From the output's gradient to the input's (and the parameters').
    case backward
}

/// How an image batch is stored. Eta keeps activations channels-last (each pixel's channels contiguous), so a
/// convolution is one GEMM over all pixels of the batch and per-channel operations are per-column ones; inputs arrive
/// channels-first, as PyTorch and the data files store them.
public enum ImageLayout: Sendable {
    /// `[N, C, H, W]`.
    case channelsFirst
    /// `[N, H, W, C]`.
    case channelsLast
}

/// im2col and its adjoint: between an image batch and its patch matrix `[N·OH·OW, C·k·k]`, one row per output pixel
/// (rows in (n, oy, ox) order), columns in PyTorch's weight order (c, ky, kx), zeros where a window covers padding.
/// A convolution is then patches · Wᵀ with W `[O, C·k·k]`.
public struct PatchCommand {
    /// `.forward` gathers the image into the patches; `.backward` sums the patch gradients back into the image's
    /// gradient (each image element gathers the patch entries that read it, so the sum is deterministic).
    public var pass: LayerPass
    /// The image (forward) or its gradient (backward).
    public var image: DeviceSlice
    /// How `image` is stored.
    public var layout: ImageLayout
    /// The patch matrix (forward: written; backward: the gradient read).
    public var patches: DeviceSlice
    /// Images in the batch (replicas × rows for a sweep).
    public var images: Int
    /// Channels, height, width, kernel, stride and padding.
    public var geometry: WindowGeometry
    /// Backward only: add to the image gradient instead of overwriting it.
    public var accumulate: Bool

    /// - Parameters:
    ///   - pass: Gather (forward) or sum back (backward).
    ///   - image: The image or its gradient.
    ///   - layout: How the image is stored.
    ///   - patches: The patch matrix or its gradient.
    ///   - images: Images in the batch.
    ///   - geometry: The window.
    ///   - accumulate: Backward only: add to the image gradient.
    public init(
        pass: LayerPass, image: DeviceSlice, layout: ImageLayout, patches: DeviceSlice, images: Int,
        geometry: WindowGeometry, accumulate: Bool = false
    ) {
        (self.pass, self.image, self.layout, self.patches) = (pass, image, layout, patches)
        (self.images, self.geometry, self.accumulate) = (images, geometry, accumulate)
    }
}

/// Max or average pooling over a channels-last image batch (`MaxPool2d`, `AvgPool2d` with `count_include_pad`;
/// global average pooling is a window the size of the image).
public struct PoolCommand {
    /// Which pooling.
    public enum Kind: Sendable {
        /// The window's maximum; padding never wins; on a tie the first in scan order does, as in PyTorch.
        case max
        /// The window's mean, padding counted as zeros (PyTorch's `count_include_pad=True`).
        case average
    }
    /// Which pooling.
    public var kind: Kind
    /// `.forward`: `source` is the input, `destination` the output; `.backward`: `source` is the output's gradient,
    /// `destination` the input's.
    public var pass: LayerPass
    /// What is read: `[N, H, W, C]` (forward) or `[N, OH, OW, C]` (backward).
    public var source: DeviceSlice
    /// What is written.
    public var destination: DeviceSlice
    /// Max only: per output, the winning window offset (ky·k + kx), written forward and read backward.
    public var indices: DeviceSlice?
    /// Images in the batch.
    public var images: Int
    /// Channels, height, width, window, stride and padding.
    public var geometry: WindowGeometry
    /// Backward only: add to the input gradient instead of overwriting it.
    public var accumulate: Bool

    /// - Parameters:
    ///   - kind: Max or average.
    ///   - pass: Forward or backward.
    ///   - source: The input (forward) or the output's gradient (backward).
    ///   - destination: The output (forward) or the input's gradient (backward).
    ///   - indices: Max only: the winners' window offsets.
    ///   - images: Images in the batch.
    ///   - geometry: The window.
    ///   - accumulate: Backward only: add to the input gradient.
    public init(
        kind: Kind, pass: LayerPass, source: DeviceSlice, destination: DeviceSlice, indices: DeviceSlice?,
        images: Int, geometry: WindowGeometry, accumulate: Bool = false
    ) {
        (self.kind, self.pass, self.source, self.destination, self.indices) = (
            kind, pass, source, destination, indices
        )
        (self.images, self.geometry, self.accumulate) = (images, geometry, accumulate)
    }
}

/// destination[b][c][r] = source[b][r][c] (or +=) for `matrices` consecutive `[rows × cols]` matrices: flattening a
/// channels-last image into PyTorch's `[C·H·W]` order (forward), and back (backward, rows and cols swapped).
public struct TransposeCommand {
    /// `[matrices × rows × cols]`.
    public var source: DeviceSlice
    /// `[matrices × cols × rows]`.
    public var destination: DeviceSlice
    /// Matrices, and each one's rows and columns.
    public var matrices: Int, rows: Int, cols: Int
    /// Add to the destination instead of overwriting it.
    public var accumulate: Bool

    /// - Parameters:
    ///   - source: The matrices read.
    ///   - destination: The transposed matrices written.
    ///   - matrices: Matrices in the batch.
    ///   - rows: Rows of each source matrix.
    ///   - cols: Columns of each source matrix.
    ///   - accumulate: Add to the destination.
    public init(
        source: DeviceSlice, destination: DeviceSlice, matrices: Int, rows: Int, cols: Int, accumulate: Bool = false
    ) {
        (self.source, self.destination, self.matrices, self.rows, self.cols) = (
            source, destination, matrices, rows, cols
        )
        self.accumulate = accumulate
    }
}

/// `BatchNorm2d` over channels-last activations: per column (channel) statistics over the rows (N·H·W) of each
/// replica's block, PyTorch's biased variance for normalising and unbiased variance and momentum for the running
/// statistics.
public struct BatchNormCommand {
    /// What the command does.
    public enum Mode: Sendable {
        /// Batch statistics: normalise with them, save mean and 1/√(var+eps), update the running statistics.
        case trainingForward
        /// Running statistics: normalise with them.
        case evaluationForward
        /// From the output's gradient (of a training forward) to the input's, γ's and β's.
        case backward
    }
    /// What the command does.
    public var mode: Mode
    /// Rows (N·H·W) and channels of one replica's block.
    public var rows: Int, channels: Int
    /// Consecutive blocks, each with its own parameters, running and saved statistics.
    public var replicas: Int
    /// The forward input `[replicas × rows × channels]` (backward reads it again).
    public var input: DeviceSlice
    /// Forward: the output. Backward: the input's gradient.
    public var output: DeviceSlice
    /// Backward: the output's gradient.
    public var gradOutput: DeviceSlice?
    /// γ and β (`weight`, `bias`) of replica 0; replica r's are `parameterStride`·r further on.
    public var weight: DeviceSlice, bias: DeviceSlice
    /// Backward: where dγ and dβ go (same offsets and stride in the gradient arena).
    public var gradWeight: DeviceSlice?, gradBias: DeviceSlice?
    /// Elements between consecutive replicas' γ, β, running statistics and their gradients.
    public var parameterStride: Int
    /// Running mean and variance of replica 0 (`running_mean`, `running_var`).
    public var runningMean: DeviceSlice, runningVariance: DeviceSlice
    /// Elements between consecutive replicas' running statistics.
    public var runningStride: Int
    /// Per replica and channel, the batch mean then 1/√(var+eps): `[replicas × 2 × channels]`.
    public var saved: DeviceSlice
    /// Added to the variance (PyTorch: 1e-5).
    public var epsilon: Float
    /// The running statistics' update weight (PyTorch: 0.1).
    public var momentum: Float
    /// Backward: add to dγ and dβ (gradient accumulation) instead of overwriting them.
    public var accumulateParameters: Bool
    /// Backward: add to the input gradient instead of overwriting it.
    public var accumulateInput: Bool

    /// - Parameters:
    ///   - mode: Training forward, evaluation forward or backward.
    ///   - rows: Rows per replica (N·H·W).
    ///   - channels: Channels (columns).
    ///   - replicas: Blocks with their own parameters.
    ///   - input: The forward input.
    ///   - output: The output (forward) or the input's gradient (backward).
    ///   - gradOutput: Backward: the output's gradient.
    ///   - weight: γ.
    ///   - bias: β.
    ///   - gradWeight: Backward: dγ.
    ///   - gradBias: Backward: dβ.
    ///   - parameterStride: Elements between replicas' parameters.
    ///   - runningMean: The running mean.
    ///   - runningVariance: The running variance.
    ///   - runningStride: Elements between replicas' running statistics.
    ///   - saved: Batch mean and 1/√(var+eps) per replica and channel.
    ///   - epsilon: Added to the variance.
    ///   - momentum: The running statistics' update weight.
    ///   - accumulateParameters: Backward: add to dγ and dβ.
    ///   - accumulateInput: Backward: add to the input gradient.
    public init(
        mode: Mode, rows: Int, channels: Int, replicas: Int = 1, input: DeviceSlice, output: DeviceSlice,
        gradOutput: DeviceSlice? = nil, weight: DeviceSlice, bias: DeviceSlice, gradWeight: DeviceSlice? = nil,
        gradBias: DeviceSlice? = nil, parameterStride: Int = 0, runningMean: DeviceSlice,
        runningVariance: DeviceSlice, runningStride: Int = 0, saved: DeviceSlice, epsilon: Float = 1e-5,
        momentum: Float = 0.1,
        accumulateParameters: Bool = false, accumulateInput: Bool = false
    ) {
        (self.mode, self.rows, self.channels, self.replicas) = (mode, rows, channels, replicas)
        (self.input, self.output, self.gradOutput) = (input, output, gradOutput)
        (self.weight, self.bias, self.gradWeight, self.gradBias) = (weight, bias, gradWeight, gradBias)
        (self.parameterStride, self.runningMean, self.runningVariance) = (parameterStride, runningMean, runningVariance)
        self.runningStride = runningStride
        (self.saved, self.epsilon, self.momentum) = (saved, epsilon, momentum)
        (self.accumulateParameters, self.accumulateInput) = (accumulateParameters, accumulateInput)
    }
}
