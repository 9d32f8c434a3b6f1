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

    /// The names `init(name:curvatures:)` accepts.
    public static let names = ["rosenbrock", "quadratic"]

    /// An objective by name; `curvatures` applies to `quadratic` (default 1, 10).
    ///
    /// - Parameters:
    ///   - name: `rosenbrock` or `quadratic`, in any case.
    ///   - curvatures: The quadratic's finite curvatures; nil: [1, 10]. Must be nil for Rosenbrock.
    /// - Throws: `EtaError` `.usage` for an unknown name, curvatures given to Rosenbrock, or empty or non-finite
    ///   curvatures.
    public init(name: String, curvatures: [Float]? = nil) throws {
        switch name.lowercased() {
        case "rosenbrock":
            guard curvatures == nil else { throw EtaError(.usage, "curvatures apply to the quadratic objective only") }
            self = .rosenbrock
        case "quadratic":
            let c = curvatures ?? [1, 10]
            guard !c.isEmpty, c.allSatisfy({ $0.isFinite }) else {
                throw EtaError(
                    .usage, "the quadratic objective needs one or more finite curvatures, e.g. [1, 10] (got \(c))")
            }
            self = .quadratic(curvatures: c)
        default:
            throw EtaError(.usage, "unknown objective '\(name)'; valid: \(Self.names.joined(separator: ", "))")
        }
    }

    /// The number of coordinates.
    public var dimension: Int {
        switch self {
        case .rosenbrock: 2
        case .quadratic(let c): c.count
        }
    }

    /// The default start: (−1.5, 2) for Rosenbrock, all ones for the quadratic.
    public var defaultStart: [Float] {
        switch self {
        case .rosenbrock: [-1.5, 2]
        case .quadratic(let c): [Float](repeating: 1, count: c.count)
        }
    }

    /// The minimiser.
    public var minimum: [Float] {
        switch self {
        case .rosenbrock: [1, 1]
        case .quadratic(let c): [Float](repeating: 0, count: c.count)
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
        }
    }
}
