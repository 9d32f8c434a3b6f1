/// One per-tensor piece of a matrix optimizer's step (Muon, Adafactor; `Kernels/deep/matrix.cl`), between the
/// GEMMs and reductions the host orders. Offsets are in floats; every buffer is float32.
public enum TensorUpdateCommand {
    /// buf = lerp(buf, g, 1 − μ); out = nesterov ? lerp(g, buf, μ) : buf, over `count` elements (torch.optim.Muon).
    case muonMomentum(
        gradients: DeviceSlice, buffer: DeviceSlice, output: DeviceSlice, count: Int, oneMinusMomentum: Float,
        momentum: Float, nesterov: Bool)
    /// x /= max(√stats[index], eps) over `count` elements (the Frobenius normalisation before Newton–Schulz).
    case scaleByNorm(values: DeviceSlice, count: Int, stats: DeviceBuffer, index: Int, eps: Float)
    /// p = fma(negativeLR, x, p·decay) over `count` elements (Muon's decoupled decay, then the update).
    case muonApply(parameters: DeviceSlice, update: DeviceSlice, count: Int, decay: Float, negativeLR: Float)
    /// The Adafactor statistics of one tensor seen as `matrices` [rows × cols] matrices (`rows` 1 and `cols` the count
    /// for an unfactored tensor).
    case adafactor(AdafactorCommand)
}

/// Adafactor's per-tensor launches (torch.optim.Adafactor): its rows' and columns' mean squares, the direction U, and
/// the update from the squared norms in `stats`.
public struct AdafactorCommand {
    /// Which launch.
    public enum Stage: Sendable {
        /// row_var = lerp(row_var, mean over each row of g², weight).
        case rows
        /// col_var = lerp(col_var, mean over each column of g², weight).
        case columns
        /// U = g·rsqrt(max(V, eps1²)) into `output` (unfactored: `variance`, in `rowVariance`, lerped first).
        case direction
        /// p = fma(−α/denom, U, p·decay) with α and denom from stats[statsIndex] (‖θ‖²) and stats[statsIndex + 1]
        /// (‖U‖²).
        case apply
    }

    /// The launch.
    public var stage: Stage
    /// The gradients (rows, columns, direction) or the parameters (apply).
    public var tensor: DeviceSlice
    /// The direction U: written by `direction`, read by `apply`.
    public var output: DeviceSlice
    /// row_var ([matrices × rows]) or, unfactored, `variance`.
    public var rowVariance: DeviceSlice
    /// col_var ([matrices × cols]).
    public var columnVariance: DeviceSlice
    /// The mean of each matrix's row_var ([matrices]), for `direction`.
    public var rowMeans: DeviceSlice
    /// The squared norms for `apply`.
    public var stats: DeviceSlice
    /// The tensor's shape as matrices × rows × cols; `factored` false: one vector of `cols`.
    public var matrices: Int, rows: Int, cols: Int
    /// Whether the tensor has two or more dimensions.
    public var factored: Bool
    /// The lerp weight t^beta2_decay.
    public var weight: Float
    /// eps1, its square, eps2, the clipping threshold d.
    public var eps1: Float, eps2: Float, d: Float
    /// min(lr, 1/√t) and the decoupled decay factor 1 − lr·weight_decay.
    public var rho: Float, decay: Float
    /// Negate the gradient.
    public var maximize: Bool

    /// - Parameters:
    ///   - stage: Which launch.
    ///   - tensor: The gradients, or the parameters for `apply`.
    ///   - output: The direction U.
    ///   - rowVariance: row_var, or `variance` when not factored.
    ///   - columnVariance: col_var.
    ///   - rowMeans: The mean of each matrix's row_var.
    ///   - stats: ‖θ‖² then ‖U‖².
    ///   - matrices: Matrices in the tensor.
    ///   - rows: Rows per matrix.
    ///   - cols: Columns per matrix.
    ///   - factored: Whether the second moment is factored.
    ///   - weight: The lerp weight.
    ///   - eps1: The second moment's floor.
    ///   - eps2: The parameter scale's floor.
    ///   - d: The update's clipping threshold.
    ///   - rho: min(lr, 1/√t).
    ///   - decay: 1 − lr·weight_decay.
    ///   - maximize: Negate the gradient.
    public init(
        stage: Stage, tensor: DeviceSlice, output: DeviceSlice, rowVariance: DeviceSlice, columnVariance: DeviceSlice,
        rowMeans: DeviceSlice, stats: DeviceSlice, matrices: Int, rows: Int, cols: Int, factored: Bool,
        weight: Float, eps1: Float, eps2: Float, d: Float, rho: Float, decay: Float, maximize: Bool
    ) {
        (self.stage, self.tensor, self.output, self.rowVariance, self.columnVariance) = (
            stage, tensor, output, rowVariance, columnVariance
        )
        (self.rowMeans, self.stats, self.matrices, self.rows, self.cols, self.factored) = (
            rowMeans, stats, matrices, rows, cols, factored
        )
        (self.weight, self.eps1, self.eps2, self.d, self.rho, self.decay, self.maximize) = (
            weight, eps1, eps2, d, rho, decay, maximize
        )
    }

    /// Elements of the tensor.
    public var count: Int { matrices * rows * cols }
}

extension TensorUpdateCommand {
    /// The kernel's name in traces.
    public var kernelName: String {
        switch self {
        case .muonMomentum: "muon_momentum"
        case .scaleByNorm: "scale_by_norm"
        case .muonApply: "muon_apply"
        case .adafactor(let c):
            switch c.stage {
            case .rows: "adafactor_rows"
            case .columns: "adafactor_cols"
            case .direction: "adafactor_direction"
            case .apply: "adafactor_apply"
            }
        }
    }
}
