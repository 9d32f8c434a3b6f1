import Foundation

/// The matrix least-squares objective and the multi-modal test functions, in float32 with a fixed operation order
/// (`tools/make_fixtures.py` evaluates the matrix objective the same way).
extension Objective {
    /// A (5×4), row-major.
    public static let matrixA: [[Float]] = [
        [2, 0, 1, 0], [0, 1, 0, -1], [1, 1, 3, 0], [0, -2, 0, 1], [1, 0, 0, 2],
    ]
    /// B (5×3), row-major.
    public static let matrixB: [[Float]] = [[1, 2, 0], [0, -1, 1], [3, 0, 2], [-1, 1, 0], [2, 0, -2]]
    /// X0 (4×3), row-major: the matrix objective's default start.
    public static let matrixStart: [Float] = [0.5, -0.5, 0.25, 0, 1, -1, 0.75, 0.25, 0, -0.25, 0.5, 1]

    /// The residual R = A X − B (5×3, row-major): each entry summed over k = 0…3 from 0, then B subtracted.
    static func matrixResidual(_ x: [Float]) -> [Float] {
        var r = [Float](repeating: 0, count: 15)
        for i in 0..<5 {
            for j in 0..<3 {
                var sum: Float = 0
                for k in 0..<4 { sum += matrixA[i][k] * x[k * 3 + j] }
                r[i * 3 + j] = sum - matrixB[i][j]
            }
        }
        return r
    }

    /// ½ Σ R², summed row-major from 0.
    static func matrixLoss(_ x: [Float]) -> Float {
        var sum: Float = 0
        for value in matrixResidual(x) { sum += value * value }
        return 0.5 * sum
    }

    /// Aᵀ R (4×3, row-major): each entry summed over i = 0…4 from 0.
    static func matrixGradient(_ x: [Float]) -> [Float] {
        let r = matrixResidual(x)
        var g = [Float](repeating: 0, count: 12)
        for k in 0..<4 {
            for j in 0..<3 {
                var sum: Float = 0
                for i in 0..<5 { sum += matrixA[i][k] * r[i * 3 + j] }
                g[k * 3 + j] = sum
            }
        }
        return g
    }

    /// The least-squares solution (AᵀA)⁻¹AᵀB, solved in double by Gauss–Jordan elimination and rounded to float.
    static let leastSquaresSolution: [Float] = {
        let a = matrixA.map { $0.map(Double.init) }, b = matrixB.map { $0.map(Double.init) }
        // The augmented normal equations [AᵀA | AᵀB], 4 × 7.
        var m = (0..<4).map { k in
            (0..<4).map { l in (0..<5).reduce(0.0) { $0 + a[$1][k] * a[$1][l] } }
                + (0..<3).map { j in (0..<5).reduce(0.0) { $0 + a[$1][k] * b[$1][j] } }
        }
        for column in 0..<4 {
            let pivot = (column..<4).max { abs(m[$0][column]) < abs(m[$1][column]) }!
            m.swapAt(column, pivot)
            let scale = m[column][column]
            m[column] = m[column].map { $0 / scale }
            for row in 0..<4 where row != column {
                let factor = m[row][column]
                m[row] = zip(m[row], m[column]).map { $0 - factor * $1 }
            }
        }
        return (0..<4).flatMap { k in (0..<3).map { Float(m[k][4 + $0]) } }
    }()

    func multimodalLoss(_ x: [Float]) -> Float {
        let (u, v) = (x[0], x[1])
        switch self {
        case .himmelblau:
            let a = u * u + v - 11, b = u + v * v - 7
            return a * a + b * b
        case .rastrigin:
            return 20 + (u * u - 10 * cos(2 * Float.pi * u)) + (v * v - 10 * cos(2 * Float.pi * v))
        default:
            let r = (0.5 * (u * u + v * v)).squareRoot()
            let ripple = 0.5 * (cos(2 * Float.pi * u) + cos(2 * Float.pi * v))
            return -20 * exp(-0.2 * r) - exp(ripple) + Float(M_E) + 20
        }
    }

    func multimodalGradient(_ x: [Float]) -> [Float] {
        let (u, v) = (x[0], x[1])
        switch self {
        case .himmelblau:
            let a = u * u + v - 11, b = u + v * v - 7
            return [4 * u * a + 2 * b, 2 * a + 4 * v * b]
        case .rastrigin:
            return [2 * u + 20 * Float.pi * sin(2 * Float.pi * u), 2 * v + 20 * Float.pi * sin(2 * Float.pi * v)]
        default:
            let r = (0.5 * (u * u + v * v)).squareRoot()
            // The cone's slope is undefined at the origin (its minimum): 0 there.
            let radial: Float = r > 0 ? 2 * exp(-0.2 * r) / r : 0
            let ripple = Float.pi * exp(0.5 * (cos(2 * Float.pi * u) + cos(2 * Float.pi * v)))
            return [radial * u + ripple * sin(2 * Float.pi * u), radial * v + ripple * sin(2 * Float.pi * v)]
        }
    }
}
