import Foundation
import Testing

@testable import Eta

/// One model of `tools/make_mup_fixtures.py`: the `mup` package's InfShapes and optimizer factors, and one float64
/// training step of the μP model (MuReadout, √(base d_head)/d_head attention) in PyTorch.
struct TorchMuPCase: Decodable {
    struct Shape: Decodable {
        let name: String
        let ninf: Int
        let width_mult: Double
        let fanin_fanout_ratio: Double?
        let muadam: [Double]
        let musgd: [Double]
    }
    let spec: String
    let base_width: Int
    let input_shape: String?
    let outputs: Int
    let batch: Int
    let readout: String
    let readout_width_mult: Double
    let shapes: [Shape]
    let state_dict: [TorchModelCase.Named]
    let input: TorchModelCase.Named
    let targets: [Double]
    let output: TorchModelCase.Named
    let loss: Double
    let grads: [TorchModelCase.Named]

    static let loaded: [TorchMuPCase] = {
        struct File: Decodable { let cases: [TorchMuPCase] }
        let url = Bundle.module.url(forResource: "torch_mup", withExtension: "json", subdirectory: "Fixtures")!
        return try! JSONDecoder().decode(File.self, from: Data(contentsOf: url)).cases
    }()

    func architecture() throws -> ModelArchitecture {
        var spec = try ModelSpec(parsing: self.spec)
        spec.parametrization = .maximalUpdate(baseWidth: base_width)
        let shape = try input_shape.map(Dataset.parseShape) ?? [spec.context]
        return try spec.architecture(inputShape: shape, outputs: outputs)
    }
}

@Suite("μP against the mup package")
struct MaximalUpdateTests {
    @Test(
        "infinite shapes, MuAdam's and MuSGD's factors and the readout multiplier",
        arguments: TorchMuPCase.loaded.indices)
    func shapesAndFactors(index: Int) throws {
        let fixture = TorchMuPCase.loaded[index]
        let model = try fixture.architecture()
        let mup = try #require(model.maximalUpdate)
        #expect(mup.readout + ".weight" == fixture.readout + ".weight", "\(fixture.spec)")
        #expect(abs(Double(mup.readoutMultiplier) - 1 / fixture.readout_width_mult) < 1e-7, "\(fixture.spec)")
        #expect(Set(mup.shapes.keys) == Set(fixture.shapes.map(\.name)), "\(fixture.spec)")
        for expected in fixture.shapes {
            let shape = try #require(mup.shapes[expected.name])
            let label = "\(fixture.spec) \(expected.name)"
            #expect(
                shape.count == expected.ninf && abs(shape.widthMultiplier - expected.width_mult) < 1e-12, "\(label)")
            if let ratio = expected.fanin_fanout_ratio {
                #expect(abs(shape.fanInFanOutRatio - ratio) < 1e-12, "\(label)")
            }
            let adam = mup.factors(expected.name, family: .adam), sgd = mup.factors(expected.name, family: .sgd)
            #expect(
                abs(adam.lr - expected.muadam[0]) < 1e-12 && abs(adam.weightDecay - expected.muadam[1]) < 1e-12,
                "\(label)")
            #expect(
                abs(sgd.lr - expected.musgd[0]) < 1e-12 && abs(sgd.weightDecay - expected.musgd[1]) < 1e-12, "\(label)")
        }
    }

    @Test(
        "a μP model's logits, loss and gradients equal PyTorch's with MuReadout", arguments: Backends.names,
        TorchMuPCase.loaded.indices)
    func trainingStep(backendName: String, index: Int) throws {
        let fixture = TorchMuPCase.loaded[index], backend = try Backends.named(backendName)
        let label = "\(fixture.spec) μP on \(backendName)"
        let model = try fixture.architecture()
        let network = try DeepModelTests.trainingStep(
            model, parameters: fixture.state_dict, input: fixture.input, targets: fixture.targets,
            batch: fixture.batch, backend: backend
        ).network
        DeepModelTests.check("logits", try network.readOutputs(rows: fixture.batch), fixture.output.values, label)
        let loss = try network.readStats()[.batchLoss]!
        #expect(abs(Double(loss) - fixture.loss) <= 1e-5 * max(1, fixture.loss), "\(label): loss \(loss)")
        for gradient in fixture.grads {
            DeepModelTests.check(
                gradient.name, try network.arena.download(.gradients, tensor: gradient.name), gradient.values, label)
        }
    }

    @Test("μP at the base width is the standard model; wider, it starts as mup.init and MuReadout's rescaling do")
    func initialisation() throws {
        var spec = try ModelSpec(parsing: "mlp:hidden=64/64")
        let standard = try spec.architecture(inputs: 10, outputs: 3)
        spec.parametrization = .maximalUpdate(baseWidth: 64)
        #expect(
            try spec.architecture(inputs: 10, outputs: 3).initialParameters(seed: 1)
                == standard.initialParameters(seed: 1))
        spec.parametrization = .maximalUpdate(baseWidth: 16)
        let wide = try spec.architecture(inputs: 10, outputs: 3)
        let base = try ModelSpec(parsing: "mlp:hidden=16/16").architecture(inputs: 10, outputs: 3)
        func initialization(_ model: ModelArchitecture, _ name: String) -> ParameterInit? {
            model.nodes.flatMap(\.parameters).first { $0.name == name }?.initialization
        }
        // Input layer (one infinite dimension) and readout: the base model's; hidden matrix: base / √4 (= SP's here).
        #expect(initialization(wide, "layer0.weight") == initialization(base, "layer0.weight"))
        #expect(initialization(wide, "layer2.weight") == initialization(base, "layer2.weight"))
        guard case .uniform(let bound) = initialization(wide, "layer1.weight"),
            case .uniform(let baseBound) = initialization(base, "layer1.weight")
        else { Issue.record("uniform initialisation expected"); return }
        #expect(abs(bound - baseBound / 2) < 1e-7)
        // GPT: N(0, 0.02) matrices scale by 1/√(fan-in multiplier); embeddings keep 0.02.
        var gpt = try ModelSpec(parsing: "gpt:layers=1,heads=2,embed=64,context=4")
        gpt.parametrization = .maximalUpdate(baseWidth: 16)
        let transformer = try gpt.architecture(inputShape: [4], outputs: 7)
        #expect(initialization(transformer, "blocks.0.attn.qkv.weight") == .normal(standardDeviation: 0.01))
        #expect(initialization(transformer, "token_embedding.weight") == .normal(standardDeviation: 0.02))
        #expect(transformer.maximalUpdate?.attentionScale == Float(8.0.squareRoot() / 32))
    }

    @Test("the optimizer's groups carry μP's factors times the user's, and unsupported uses exit 64")
    func groups() throws {
        var configuration = TrainingConfiguration()
        configuration.dataset = "iris"
        configuration.model = try ModelSpec(parsing: "mlp:hidden=32/32")
        configuration.model.parametrization = .maximalUpdate(baseWidth: 8)
        configuration.optimizer = try OptimizerConfiguration(spec: "adamw:lr=0.01,weight_decay=0.1")
        configuration.parameterGroups = [try ParameterGroup(spec: "layer1.*:lr_scale=0.5")]
        let trainer = try Trainer(configuration: configuration, backend: Backends.cpu)
        let groups = trainer.network.optimizer.groups
        let hidden = try #require(groups.first { $0.pattern == "layer1.weight" })
        #expect(hidden.lrScale == 0.5 / 4 && abs(hidden.weightDecay! - 0.4) < 1e-12, "\(groups)")
        #expect(groups.first { $0.pattern == "layer1.bias" }?.lrScale == 0.5)
        #expect(!groups.contains { $0.pattern == "layer0.weight" || $0.pattern == "layer2.weight" })
        configuration.optimizer = try OptimizerConfiguration(spec: "prodigy")
        configuration.parameterGroups = []
        #expect(throws: EtaError.self) { _ = try Trainer(configuration: configuration, backend: Backends.cpu) }
        configuration.optimizer = try OptimizerConfiguration(spec: "adam")
        configuration.model = try ModelSpec(parsing: "softmax")
        configuration.model.parametrization = .maximalUpdate(baseWidth: 8)
        #expect(throws: EtaError.self) { _ = try Trainer(configuration: configuration, backend: Backends.cpu) }
    }
}
