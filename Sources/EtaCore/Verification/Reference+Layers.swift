#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The real-number operations the Reference's layers need, for `Float` (checking backends) and `Double`
/// (finite-difference gradient checks).
public protocol ReferenceReal: BinaryFloatingPoint {
    /// eˣ.
    ///
    /// - Parameter x: The argument.
    /// - Returns: eˣ.
    static func exponential(_ x: Self) -> Self
    /// The natural logarithm.
    ///
    /// - Parameter x: The argument.
    /// - Returns: ln x.
    static func logarithm(_ x: Self) -> Self
    /// tanh.
    ///
    /// - Parameter x: The argument.
    /// - Returns: tanh x.
    static func hyperbolicTangent(_ x: Self) -> Self
    /// The error function.
    ///
    /// - Parameter x: The argument.
    /// - Returns: erf x.
    static func errorFunction(_ x: Self) -> Self
}

extension Float: ReferenceReal {
    /// `expf`.
    ///
    /// - Parameter x: The argument.
    /// - Returns: eˣ.
    public static func exponential(_ x: Float) -> Float { expf(x) }
    /// `logf`.
    ///
    /// - Parameter x: The argument.
    /// - Returns: ln x.
    public static func logarithm(_ x: Float) -> Float { logf(x) }
    /// `tanhf`.
    ///
    /// - Parameter x: The argument.
    /// - Returns: tanh x.
    public static func hyperbolicTangent(_ x: Float) -> Float { tanhf(x) }
    /// `erff`.
    ///
    /// - Parameter x: The argument.
    /// - Returns: erf x.
    public static func errorFunction(_ x: Float) -> Float { erff(x) }
}

extension Double: ReferenceReal {
    /// `exp`.
    ///
    /// - Parameter x: The argument.
    /// - Returns: eˣ.
    public static func exponential(_ x: Double) -> Double { exp(x) }
    /// `log`.
    ///
    /// - Parameter x: The argument.
    /// - Returns: ln x.
    public static func logarithm(_ x: Double) -> Double { log(x) }
    /// `tanh`.
    ///
    /// - Parameter x: The argument.
    /// - Returns: tanh x.
    public static func hyperbolicTangent(_ x: Double) -> Double { tanh(x) }
    /// `erf`.
    ///
    /// - Parameter x: The argument.
    /// - Returns: erf x.
    public static func errorFunction(_ x: Double) -> Double { erf(x) }
}

extension Reference {
    /// Row-major C = alpha · op(A) · op(B) + beta · C, summed in order over k.
    ///
    /// - Parameters:
    ///   - transposeA: Use Aᵀ (A stored k×m).
    ///   - transposeB: Use Bᵀ (B stored n×k).
    ///   - m: Rows of C.
    ///   - n: Columns of C.
    ///   - k: The inner dimension.
    ///   - alpha: The product's scale.
    ///   - a: A's storage.
    ///   - aOffset: A's first element.
    ///   - lda: A's leading dimension.
    ///   - b: B's storage.
    ///   - bOffset: B's first element.
    ///   - ldb: B's leading dimension.
    ///   - beta: C's scale (0: C is overwritten, even where it holds NaN).
    ///   - c: C's storage, updated in place.
    ///   - cOffset: C's first element.
    ///   - ldc: C's leading dimension.
    public static func gemm<T: ReferenceReal>(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: T,
        a: [T], aOffset: Int = 0, lda: Int, b: [T], bOffset: Int = 0, ldb: Int,
        beta: T, c: inout [T], cOffset: Int = 0, ldc: Int
    ) {
        for i in 0..<m {
            for j in 0..<n {
                var sum: T = 0
                for p in 0..<k {
                    let x = transposeA ? a[aOffset + p * lda + i] : a[aOffset + i * lda + p]
                    let y = transposeB ? b[bOffset + j * ldb + p] : b[bOffset + p * ldb + j]
                    sum += x * y
                }
                let index = cOffset + i * ldc + j
                c[index] = alpha * sum + (beta == 0 ? 0 : beta * c[index])
            }
        }
    }

    /// act(z).
    ///
    /// - Parameters:
    ///   - z: The pre-activation.
    ///   - activation: The nonlinearity.
    /// - Returns: act(z).
    public static func activate<T: ReferenceReal>(_ z: T, _ activation: Activation) -> T {
        switch activation {
        case .identity: return z
        case .relu: return z > 0 ? z : 0
        case .tanh: return T.hyperbolicTangent(z)
        case .sigmoid: return 1 / (1 + T.exponential(-z))
        case .gelu: return z * (1 + T.errorFunction(z / T(2).squareRoot())) / 2
        }
    }

    /// d act / dz at z.
    ///
    /// - Parameters:
    ///   - z: The pre-activation.
    ///   - activation: The nonlinearity.
    /// - Returns: act′(z).
    public static func activationSlope<T: ReferenceReal>(_ z: T, _ activation: Activation) -> T {
        switch activation {
        case .identity: return 1
        case .relu: return z > 0 ? 1 : 0
        case .tanh: let t = T.hyperbolicTangent(z); return 1 - t * t
        case .sigmoid: let s = 1 / (1 + T.exponential(-z)); return s * (1 - s)
        case .gelu:
            let cdf = (1 + T.errorFunction(z / T(2).squareRoot())) / 2
            let pdf = T.exponential(-z * z / 2) / (2 * T.pi).squareRoot()
            return cdf + z * pdf
        }
    }

    /// Z += bias per row; A = act(Z).
    ///
    /// - Parameters:
    ///   - z: [rows × cols], the bias added in place.
    ///   - bias: [cols].
    ///   - a: Receives act(Z), [rows × cols].
    ///   - rows: Rows.
    ///   - cols: Columns.
    ///   - activation: The nonlinearity.
    public static func biasActivationForward<T: ReferenceReal>(
        z: inout [T], bias: [T], a: inout [T], rows: Int, cols: Int,
        activation: Activation
    ) {
        for r in 0..<rows {
            for c in 0..<cols {
                z[r * cols + c] += bias[c]
                a[r * cols + c] = activate(z[r * cols + c], activation)
            }
        }
    }

    /// dZ = dA · act'(Z); returns dbias = Σ over rows of dZ.
    ///
    /// - Parameters:
    ///   - gradA: dA, [rows × cols].
    ///   - z: Z, [rows × cols].
    ///   - gradZ: Receives dZ, [rows × cols].
    ///   - rows: Rows.
    ///   - cols: Columns.
    ///   - activation: The nonlinearity.
    /// - Returns: dbias, [cols].
    public static func biasActivationBackward<T: ReferenceReal>(
        gradA: [T], z: [T], gradZ: inout [T], rows: Int, cols: Int,
        activation: Activation
    ) -> [T] {
        var gradBias = [T](repeating: 0, count: cols)
        for r in 0..<rows {
            for c in 0..<cols {
                let g = gradA[r * cols + c] * activationSlope(z[r * cols + c], activation)
                gradZ[r * cols + c] = g
                gradBias[c] += g
            }
        }
        return gradBias
    }

    /// Per-row losses, correctness and d(mean loss)/d(input) for `kind` (see `LossCommand`).
    ///
    /// - Parameters:
    ///   - kind: The loss.
    ///   - input: The predictions (logits for cross-entropy and BCE), [rows × cols].
    ///   - targets: Class indices (cross-entropy), 0/1 labels (BCE) or values [rows × cols] (MSE).
    ///   - rows: Rows of the batch.
    ///   - cols: Outputs per row.
    /// - Returns: Each row's loss, 1 or 0 per row for a correct prediction, and the gradient [rows × cols].
    public static func loss<T: ReferenceReal>(
        _ kind: LossKind, input: [T], targets: [T], rows: Int, cols: Int
    )
        -> (rowLoss: [T], rowCorrect: [T], grad: [T])
    {
        var rowLoss = [T](repeating: 0, count: rows), rowCorrect = rowLoss
        var grad = [T](repeating: 0, count: rows * cols)
        switch kind {
        case .crossEntropy:
            for r in 0..<rows {
                let x = Array(input[(r * cols)..<((r + 1) * cols)])
                let label = Int(targets[r])
                let maximum = x.max()!
                let sum = x.reduce(T(0)) { $0 + T.exponential($1 - maximum) }
                for c in 0..<cols {
                    grad[r * cols + c] = (T.exponential(x[c] - maximum) / sum - (c == label ? 1 : 0)) / T(rows)
                }
                rowLoss[r] = T.logarithm(sum) + maximum - x[label]
                rowCorrect[r] = x.firstIndex(of: maximum) == label ? 1 : 0
            }
        case .bce:
            for r in 0..<rows {
                let x = input[r], t = targets[r]
                rowLoss[r] = max(x, 0) - x * t + T.logarithm(1 + T.exponential(-abs(x)))
                grad[r] = (1 / (1 + T.exponential(-x)) - t) / T(rows)
                rowCorrect[r] = (x > 0) == (t > 0.5) ? 1 : 0
            }
        case .mse:
            for r in 0..<rows {
                for c in 0..<cols {
                    let difference = input[r * cols + c] - targets[r * cols + c]
                    rowLoss[r] += difference * difference
                    grad[r * cols + c] = 2 * difference / T(rows * cols)
                }
            }
        }
        return (rowLoss, rowCorrect, grad)
    }
}
