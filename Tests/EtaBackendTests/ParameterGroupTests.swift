import Foundation
import Testing

@testable import Eta
@testable import EtaCore

@Suite("Parameter groups")
struct ParameterGroupTests {
    static let groups = [
        try! ParameterGroup(spec: "*.bias:weight_decay=0"), try! ParameterGroup(spec: "b.*:lr_scale=0.1"),
    ]
    static let layout = try! TensorLayout(
        [("a.weight", [37]), ("a.bias", [5]), ("b.weight", [100]), ("b.bias", [3])], alignment: 16)

    /// The configuration a tensor of group `g` effectively runs: lr scaled, weight decay replaced.
    static func effective(_ configuration: OptimizerConfiguration, _ group: ParameterGroup?) -> OptimizerConfiguration {
        guard let group else { return configuration }
        return configuration.withLearningRate(configuration.learningRate * group.lrScale)
            .withWeightDecay(group.weightDecay ?? configuration.weightDecay)
    }

    @Test(
        "a grouped update equals each tensor updated alone with its group's lr and weight decay, in one launch",
        arguments: Backends.names,
        [
            "sgd:lr=0.1,momentum=0.9,weight_decay=0.1", "adam:lr=0.01,weight_decay=0.1",
            "adamw:lr=0.01,weight_decay=0.1,amsgrad=true", "rmsprop:lr=0.01,weight_decay=0.1,momentum=0.5",
            "lion:lr=0.001,weight_decay=0.5", "nadam:lr=0.01,weight_decay=0.1,decoupled_weight_decay=true",
            "schedulefree_adamw:lr=0.01,weight_decay=0.1,warmup_steps=2", "adagrad:lr=0.1,weight_decay=0.1",
        ])
    func matchesSeparateRuns(backendName: String, spec: String) throws {
        // A private CPU backend: its trace must not see other tests' launches.
        let backend: Backend = backendName == "cpu" ? CPUBackend() : try Backends.named(backendName)
        let configuration = try OptimizerConfiguration(spec: spec)
        let arena = try ParameterArena(layout: Self.layout, stateSlots: configuration.stateSlots, backend: backend)
        let optimizer = Optimizer(configuration)
        optimizer.groups = Self.groups
        try optimizer.initializeState(arena)
        var random = SplitMix64(seed: 7)
        let start = random.uniforms(Self.layout.count)
        try arena.upload(start, to: .parameters)
        let assignment = ParameterGroup.assignment(Self.groups, layout: Self.layout)
        #expect(assignment == [0, 1, 2, 1])
        var gradients: [[Float]] = []
        for step in 1...3 {
            let grad = random.uniforms(Self.layout.count)
            gradients.append(grad)
            try arena.upload(grad, to: .gradients)
            if step == 3 && backendName == "cpu" { try backend.startTrace() }
            try optimizer.step(arena)
            if step == 3 && backendName == "cpu" {
                #expect(try backend.stopTrace().count == 1, "one launch per update")
            }
        }
        let grouped = try arena.download(.parameters)
        for (entry, group) in zip(Self.layout.entries, assignment) {
            let alone = Self.effective(configuration, group == 0 ? nil : Self.groups[group - 1])
            let single = try ParameterArena(
                layout: try TensorLayout([(entry.name, entry.shape)]), stateSlots: alone.stateSlots, backend: backend)
            let reference = Optimizer(alone)
            try reference.initializeState(single)
            let range = entry.offset..<(entry.offset + entry.count)
            try single.upload(Array(start[range]), to: .parameters)
            for grad in gradients {
                try single.upload(Array(grad[range]), to: .gradients)
                try reference.step(single)
            }
            #expect(try single.download(.parameters) == Array(grouped[range]), "\(backendName) \(spec) \(entry.name)")
        }
    }

    @Test("group SPECs: bad parts are usage errors; two-pass optimizers refuse groups")
    func specs() throws {
        #expect(
            try ParameterGroup(spec: "layer0.*:lr_scale=0.5,weight_decay=0")
                == ParameterGroup(pattern: "layer0.*", lrScale: 0.5, weightDecay: 0))
        for bad in ["", ":lr_scale=1", "*.bias:lr=1", "*.bias:weight_decay=-1", "*.bias:lr_scale=x"] {
            #expect(throws: EtaError.self, "\(bad)") { try ParameterGroup(spec: bad) }
        }
        let arena = try ParameterArena(
            layout: Self.layout, stateSlots: ["exp_avg", "exp_avg_sq"], backend: Backends.cpu)
        let lamb = Optimizer(try OptimizerConfiguration(spec: "lamb"))
        lamb.groups = Self.groups
        #expect(throws: EtaError.self) { try lamb.step(arena) }
    }
}

@Suite("Momentum cycling of family optimizers")
struct FamilyMomentumCyclingTests {
    @Test(
        "a cycled momentum drives momentum (rmsprop, schedulefree_sgd) or beta1 (the others) exactly",
        arguments: [
            "rmsprop:lr=0.01,momentum=0.9", "nadam:lr=0.01", "lion:lr=0.001", "adamax:lr=0.01",
            "schedulefree_sgd:lr=0.1",
        ])
    func cycled(spec: String) throws {
        let configuration = try OptimizerConfiguration(spec: spec)
        guard configuration.cycledMomentumKey != nil else { Issue.record("no key"); return }
        let fixed = try configuration.cycled(momentum: 0.8)
        var random = SplitMix64(seed: 3)
        let start = random.uniforms(50), grads = (0..<3).map { _ in random.uniforms(50) }
        func run(_ configuration: OptimizerConfiguration, momentum: Double?) throws -> [Float] {
            let arena = try ParameterArena(
                layout: try TensorLayout([("x", [50])]), stateSlots: configuration.stateSlots, backend: Backends.cpu)
            let optimizer = Optimizer(configuration)
            try arena.upload(start, to: .parameters)
            for grad in grads {
                try arena.upload(grad, to: .gradients)
                try optimizer.step(arena, momentum: momentum)
            }
            return try arena.download(.parameters)
        }
        #expect(try run(configuration, momentum: 0.8) == run(fixed, momentum: nil))
        #expect(try run(configuration, momentum: 0.8) != run(configuration, momentum: nil))
    }

    @Test("optimizers without momentum or beta1 refuse a momentum-cycling schedule")
    func refused() throws {
        var configuration = TrainingConfiguration()
        configuration.dataset = "iris"
        configuration.schedule = try Schedule(spec: "onecycle:max_lr=0.01")
        for spec in ["adagrad", "adadelta", "rmsprop"] {
            configuration.optimizer = try OptimizerConfiguration(spec: spec)
            #expect(throws: EtaError.self, "\(spec)") {
                _ = try Trainer(configuration: configuration, backend: Backends.cpu)
            }
        }
        configuration.optimizer = try OptimizerConfiguration(spec: "nadam")
        #expect(try Trainer(configuration: configuration, backend: Backends.cpu).run().status == .completed)
    }
}
