/// A standard test function for watching what a learning rate does, with its float32 gradient.
///
/// ```swift
/// let objective = try Objective(name: "rosenbrock")
/// objective.loss(at: [1, 1])        // 0
/// objective.gradient(at: [-1.5, 2]) // [-1005, 50]
/// ```
public enum Objective: Equatable, Sendable {
    /// f(x, y) = (1 − x)² + 100 (y − x²)², minimum 0 at (1, 1).
    case rosenbrock
    /// f(x) = ½ Σ cᵢ xᵢ², minimum 0 at the origin; the curvatures cᵢ set how large a stable lr may be (2/max c
    /// for SGD).
    case quadratic(curvatures: [Float])
    /// f(X) = ½ ‖A X − B‖²_F over X ∈ R^(4×3) (A 5×4, B 5×3: ``Objective/matrixA``, ``Objective/matrixB``), a
    /// least-squares problem whose minimum is above 0; its parameter is one 4×3 tensor, so matrix optimizers take their
    /// 2-D path. X is row-major.
    case matrix
    /// f(x, y) = (x² + y − 11)² + (x + y² − 7)², four global minima at f = 0 and a local maximum.
    case himmelblau
    /// f(x, y) = 20 + Σ (xᵢ² − 10 cos 2πxᵢ): a grid of local minima around the global one, 0 at the origin.
    case rastrigin
    /// f(x, y) = −20 exp(−0.2 √(½(x² + y²))) − exp(½(cos 2πx + cos 2πy)) + e + 20: a nearly flat, rippled
    /// plain with a deep well, 0 at the origin.
    case ackley

    /// The names `init(name:curvatures:)` accepts.
    public static let names = ["rosenbrock", "quadratic", "matrix", "himmelblau", "rastrigin", "ackley"]

    /// An objective by name; `curvatures` applies to `quadratic` (default 1, 10).
    ///
    /// - Parameters:
    ///   - name: One of ``names``, in any case.
    ///   - curvatures: The quadratic's finite curvatures; nil: [1, 10]. Must be nil for every other objective.
    /// - Throws: `EtaError` `.usage` for an unknown name, curvatures given to another objective, or empty or non-finite
    ///   curvatures.
    public init(name: String, curvatures: [Float]? = nil) throws {
        let key = name.lowercased()
        if key != "quadratic" && curvatures != nil && Self.names.contains(key) {
            throw EtaError(.usage, "curvatures apply to the quadratic objective only")
        }
        switch key {
        case "rosenbrock": self = .rosenbrock
        case "quadratic":
            let c = curvatures ?? [1, 10]
            guard !c.isEmpty, c.allSatisfy({ $0.isFinite }) else {
                throw EtaError(
                    .usage, "the quadratic objective needs one or more finite curvatures, e.g. [1, 10] (got \(c))")
            }
            self = .quadratic(curvatures: c)
        case "matrix": self = .matrix
        case "himmelblau": self = .himmelblau
        case "rastrigin": self = .rastrigin
        case "ackley": self = .ackley
        default:
            throw EtaError(.usage, "unknown objective '\(name)'; valid: \(Self.names.joined(separator: ", "))")
        }
    }

    /// The number of coordinates.
    public var dimension: Int { shape.reduce(1, *) }

    /// The parameter's shape: [4, 3] for the matrix objective, else one vector.
    public var shape: [Int] {
        switch self {
        case .rosenbrock, .himmelblau, .rastrigin, .ackley: [2]
        case .quadratic(let c): [c.count]
        case .matrix: [4, 3]
        }
    }

    /// The default start: (−1.5, 2) for Rosenbrock, all ones for the quadratic, ``matrixStart`` for the matrix,
    /// (0, 0) for Himmelblau, (2.5, −1.5) for Rastrigin and (2.5, 1.5) for Ackley (among their local minima).
    public var defaultStart: [Float] {
        switch self {
        case .rosenbrock: [-1.5, 2]
        case .quadratic(let c): [Float](repeating: 1, count: c.count)
        case .matrix: Self.matrixStart
        case .himmelblau: [0, 0]
        case .rastrigin: [2.5, -1.5]
        case .ackley: [2.5, 1.5]
        }
    }

    /// The global minimiser (the one nearest `x` where there are several).
    ///
    /// - Parameter x: A point; nil: the first minimiser.
    /// - Returns: The minimiser.
    public func minimum(near x: [Float]? = nil) -> [Float] {
        let all = minimizers
        guard let x else { return all[0] }
        func distance(_ m: [Float]) -> Float { zip(m, x).map { ($0 - $1) * ($0 - $1) }.reduce(0, +) }
        return all.min { distance($0) < distance($1) }!
    }

    /// The minimiser (the first of several).
    public var minimum: [Float] { minimum() }

    /// f at the global minimum: 0 except for the matrix objective's least-squares residual.
    public var minimumLoss: Float {
        if case .matrix = self { return loss(at: minimizers[0]) }
        return 0
    }

    /// Whether gradient descent can stop at a minimum that is not global (Rastrigin, Ackley).
    public var hasLocalMinima: Bool {
        switch self {
        case .rastrigin, .ackley: true
        default: false
        }
    }

    /// Every global minimiser.
    public var minimizers: [[Float]] {
        switch self {
        case .rosenbrock: [[1, 1]]
        case .quadratic(let c): [[Float](repeating: 0, count: c.count)]
        case .matrix: [Self.leastSquaresSolution]
        case .himmelblau: [[3, 2], [-2.805118, 3.131312], [-3.779310, -3.283186], [3.584428, -1.848126]]
        case .rastrigin, .ackley: [[0, 0]]
        }
    }

    /// f at x, in float32.
    ///
    /// - Parameter x: A point with ``dimension`` coordinates.
    /// - Returns: f(x).
    public func loss(at x: [Float]) -> Float {
        switch self {
        case .rosenbrock:
            let a = 1 - x[0], b = x[1] - x[0] * x[0]
            return a * a + 100 * b * b
        case .quadratic(let c):
            var sum: Float = 0
            for i in c.indices { sum += c[i] * x[i] * x[i] }
            return 0.5 * sum
        case .matrix: return Self.matrixLoss(x)
        case .himmelblau, .rastrigin, .ackley: return multimodalLoss(x)
        }
    }

    /// ∇f at x, in float32 (the same expressions `tools/make_fixtures.py` uses).
    ///
    /// - Parameter x: A point with ``dimension`` coordinates.
    /// - Returns: ∇f(x), one value per coordinate.
    public func gradient(at x: [Float]) -> [Float] {
        switch self {
        case .rosenbrock:
            let a = 1 - x[0], b = x[1] - x[0] * x[0]
            return [-2 * a - 400 * x[0] * b, 200 * b]
        case .quadratic(let c):
            return c.indices.map { c[$0] * x[$0] }
        case .matrix: return Self.matrixGradient(x)
        case .himmelblau, .rastrigin, .ackley: return multimodalGradient(x)
        }
    }
}
