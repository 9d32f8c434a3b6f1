import Foundation
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
            ("matrix", Objective.matrixStart), ("himmelblau", [0.5, -1.25]), ("rastrigin", [2.3, -1.4]),
            ("ackley", [2.5, 1.5]), ("ackley", [-0.3, 0.05]),
        ])
    func gradient(name: String, point: [Float]) throws {
        let objective = try Objective(name: name)
        let pi = Double.pi
        func f(_ x: [Double]) -> Double {
            switch objective {
            case .rosenbrock: return (1 - x[0]) * (1 - x[0]) + 100 * (x[1] - x[0] * x[0]) * (x[1] - x[0] * x[0])
            case .quadratic(let c): return 0.5 * zip(c, x).map { Double($0) * $1 * $1 }.reduce(0, +)
            case .matrix:
                var sum = 0.0
                for i in 0..<5 {
                    for j in 0..<3 {
                        let ax = (0..<4).map { Double(Objective.matrixA[i][$0]) * x[$0 * 3 + j] }.reduce(0, +)
                        sum += (ax - Double(Objective.matrixB[i][j])) * (ax - Double(Objective.matrixB[i][j]))
                    }
                }
                return 0.5 * sum
            case .himmelblau:
                return (x[0] * x[0] + x[1] - 11) * (x[0] * x[0] + x[1] - 11) + (x[0] + x[1] * x[1] - 7)
                    * (x[0] + x[1] * x[1] - 7)
            case .rastrigin:
                let terms: [Double] = x.map { (v: Double) -> Double in v * v - 10 * cos(2 * pi * v) }
                return 20 + terms[0] + terms[1]
            case .ackley:
                let radius: Double = (0.5 * (x[0] * x[0] + x[1] * x[1])).squareRoot()
                let ripple: Double = 0.5 * (cos(2 * pi * x[0]) + cos(2 * pi * x[1]))
                return -20 * exp(-0.2 * radius) - exp(ripple) + M_E + 20
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
        #expect(throws: EtaError.self) { try Objective(name: "booth") }
        #expect(throws: EtaError.self) { try Objective(name: "rosenbrock", curvatures: [1]) }
        #expect(throws: EtaError.self) { try Objective(name: "matrix", curvatures: [1]) }
        // The matrix objective: 33.5 at X0 (exact in float32), and its least-squares minimum has a zero gradient.
        #expect(Objective.matrix.loss(at: Objective.matrixStart) == 33.5)
        #expect(Objective.matrix.shape == [4, 3] && Objective.matrix.dimension == 12)
        #expect(abs(Objective.matrix.minimumLoss - 0.356784) < 1e-5)
        #expect(Objective.matrix.gradient(at: Objective.matrix.minimum).allSatisfy { abs($0) < 1e-5 })
        for minimum in Objective.himmelblau.minimizers { #expect(Objective.himmelblau.loss(at: minimum) < 1e-8) }
        #expect(Objective.himmelblau.minimum(near: [-3, -3]) == [-3.779310, -3.283186])
        #expect(Objective.rastrigin.loss(at: [0, 0]) == 0 && Objective.ackley.loss(at: [0, 0]) < 1e-6)
    }

    @Test("a local-minimum verdict needs a settled path above the global f, on a function that has local minima")
    func localMinimumVerdict() {
        // A local-minimum verdict needs a settled path above the global f.
        let settled = [[Float]](repeating: [1, 1], count: 20)
        #expect(
            Explore.verdict(initial: 10, losses: [10, 2, 2], path: settled, hasLocalMinima: true) == .localMinimum)
        #expect(Explore.verdict(initial: 10, losses: [10, 2, 2], path: settled) != .localMinimum)
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

@Suite("Sweep divergence rules")
struct SweepDivergenceTests {
    @Test("a non-finite loss, a loss above 4x the first, or a spike above the running average; the rule is named")
    func rules() {
        var watch = Sweep.DivergenceWatch()
        #expect(watch.check(2.3, spikeFactor: nil) == nil)
        #expect(watch.check(9.0, spikeFactor: nil) == nil)  // 3.9x the start: not yet
        #expect(watch.check(29, spikeFactor: nil) == "loss 29 above 4 × its start 2.3")
        var nan = Sweep.DivergenceWatch()
        #expect(nan.check(.nan, spikeFactor: nil) == "non-finite loss")
        var spiky = Sweep.DivergenceWatch()
        #expect(spiky.check(2.3, spikeFactor: 3) == nil)
        for _ in 0..<20 { #expect(spiky.check(0.2, spikeFactor: 3) == nil) }
        // The running average (EMA, β 0.9) is about 0.46 here: 4 exceeds 3x it but not 4x the start (9.2).
        let reason = spiky.check(4, spikeFactor: 3)
        #expect(reason?.hasPrefix("loss 4 above 3 × its running average") == true, "\(reason ?? "nil")")
        var off = Sweep.DivergenceWatch()
        for loss: Float in [2.3, 0.5, 4] { #expect(off.check(loss, spikeFactor: nil) == nil) }
    }
}
