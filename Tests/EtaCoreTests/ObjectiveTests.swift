import Testing

@testable import EtaCore

@Suite("Objectives and verdicts")
struct ObjectiveTests {
    /// Central differences in float64 of the float64 function; float32 gradients agree to a few float32 ulps
    /// of the gradient's magnitude, so 1e-4 relative is ample and still catches a wrong term.
    @Test(
        "gradients agree with central finite differences",
        arguments: [
            ("rosenbrock", [Float(-1.5), 2]), ("rosenbrock", [0.3, -0.7]), ("quadratic", [1, -2]),
        ])
    func gradient(name: String, point: [Float]) throws {
        let objective = try Objective(name: name)
        func f(_ x: [Double]) -> Double {
            switch objective {
            case .rosenbrock: return (1 - x[0]) * (1 - x[0]) + 100 * (x[1] - x[0] * x[0]) * (x[1] - x[0] * x[0])
            case .quadratic(let c): return 0.5 * zip(c, x).map { Double($0) * $1 * $1 }.reduce(0, +)
            }
        }
        let g = objective.gradient(at: point)
        for i in point.indices {
            var plus = point.map(Double.init), minus = point.map(Double.init)
            let h = 1e-6
            plus[i] += h
            minus[i] -= h
            let numeric = (f(plus) - f(minus)) / (2 * h)
            #expect(abs(Double(g[i]) - numeric) <= 1e-4 * max(1, abs(numeric)), "∂f/∂x\(i): \(g[i]) vs \(numeric)")
        }
    }

    @Test("minimum and defaults")
    func defaults() throws {
        #expect(Objective.rosenbrock.loss(at: [1, 1]) == 0)
        #expect(Objective.rosenbrock.defaultStart == [-1.5, 2])
        let quadratic = try Objective(name: "quadratic")
        #expect(quadratic == .quadratic(curvatures: [1, 10]))
        #expect(quadratic.loss(at: [1, 1]) == 5.5)
        #expect(throws: EtaError.self) { try Objective(name: "himmelblau") }
        #expect(throws: EtaError.self) { try Objective(name: "rosenbrock", curvatures: [1]) }
    }

    @Test("verdicts")
    func verdicts() {
        #expect(Explore.verdict(initial: 1, losses: [1, 0.5, 0.1, 1e-9]) == .converged)
        #expect(Explore.verdict(initial: 1, losses: [1, 0.9, 0.8, 0.7]) == .descending)
        #expect(Explore.verdict(initial: 1, losses: [1, 0.5, 0.8, 0.4, 0.7, 0.3, 0.6]) == .oscillating)
        // A zig-zag whose loss still falls: x flips sign every step.
        let zigzag: [[Float]] = [[1], [-0.9], [0.8], [-0.7], [0.6], [-0.5]]
        #expect(Explore.verdict(initial: 1, losses: [1, 0.81, 0.64, 0.49, 0.36, 0.25], path: zigzag) == .oscillating)
        #expect(
            Explore.verdict(initial: 1, losses: [1, 0.81, 0.64, 0.49, 0.36, 0.25], path: zigzag.map { [abs($0[0])] })
                == .descending)
        #expect(Explore.verdict(initial: 1, losses: [1, 5, 50]) == .diverged)
        #expect(Explore.verdict(initial: 1, losses: [1, .nan]) == .diverged)
    }
}

@Suite("Arena, JSON and ULPs")
struct SupportTests {
    @Test("layout offsets and errors")
    func layout() throws {
        let layout = try TensorLayout([("w", [3, 4]), ("b", [3]), ("empty", [0])])
        #expect(layout.count == 15)
        #expect(layout["b"]?.offset == 12)
        #expect(layout["empty"]?.count == 0)
        #expect(throws: EtaError.self) { try TensorLayout([("w", [2]), ("w", [3])]) }
        #expect(throws: EtaError.self) { try TensorLayout([("w", [-1])]) }
    }

    @Test("JSON writes non-finite numbers explicitly and escapes strings")
    func json() {
        let value = JSON.object([
            ("a", .float(.nan)), ("b", .double(-.infinity)), ("c", .string("x\"y\n")), ("d", .float(0.1)),
        ])
        #expect(value.rendered == #"{"a": "NaN", "b": "-Infinity", "c": "x\"y\n", "d": 0.1}"#)
    }

    @Test("ULP distance")
    func ulp() {
        #expect(Float.ulpDistance(1, 1) == 0)
        #expect(Float.ulpDistance(1, Float(1).nextUp) == 1)
        #expect(Float.ulpDistance(0, -0.0) == 0)
        #expect(Float.ulpDistance(Float.leastNonzeroMagnitude, -Float.leastNonzeroMagnitude) == 2)
        #expect(Float.ulpDistance(.nan, .nan) == 0)
        #expect(Float.ulpDistance(.nan, 1) == .max)
    }
}
