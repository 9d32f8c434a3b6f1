import Foundation
import Testing

@testable import Eta

@Suite("explore on multi-modal functions")
struct MultimodalExploreTests {
    @Test(
        "a small lr settles in a local minimum of Rastrigin; SGD reaches a global minimum of Himmelblau",
        arguments: Backends.names)
    func multimodal(backendName: String) throws {
        let backend = try Backends.named(backendName)
        let small = try Explore.run(
            objective: .rastrigin, optimizer: try OptimizerConfiguration(spec: "sgd:lr=1e-3"), steps: 500,
            backend: backend)
        #expect(small.verdict == .localMinimum, "\(small.verdict) at \(small.steps.last!.x)")
        #expect(small.finalLoss > 1)
        let himmelblau = try Explore.run(
            objective: .himmelblau, optimizer: try OptimizerConfiguration(spec: "sgd:lr=0.01"), steps: 500,
            backend: backend)
        #expect(himmelblau.verdict == .converged, "\(himmelblau.verdict)")
        #expect(Objective.himmelblau.minimum(near: himmelblau.steps.last!.x) == [3, 2])
    }

    @Test("the matrix objective's parameter is one 4x3 tensor, and Adam reaches its least-squares minimum")
    func matrix() throws {
        let run = try Explore.run(
            objective: .matrix, optimizer: try OptimizerConfiguration(spec: "adam:lr=0.05"), steps: 300,
            backend: Backends.cpu)
        #expect(run.verdict == .converged, "\(run.verdict), final f \(run.finalLoss)")
        #expect(abs(run.finalLoss - Objective.matrix.minimumLoss) < 1e-5)
    }
}
