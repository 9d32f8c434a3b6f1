import Testing

@testable import EtaCore

@Suite("Optimizer SPEC parsing")
struct OptimizerSpecTests {
    @Test("omitted keys take PyTorch's defaults")
    func defaults() throws {
        #expect(try OptimizerConfiguration(spec: "sgd") == .sgd(SGDHyperparameters(lr: 1e-3)))
        #expect(
            try OptimizerConfiguration(spec: "adam")
                == .adam(AdamHyperparameters(lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8)))
        let adamw = try OptimizerConfiguration(spec: "adamw")
        #expect(adamw == .adamw(AdamHyperparameters(weightDecay: 0.01, decoupledWeightDecay: true)))
    }

    @Test("keys and values are read with PyTorch's names")
    func keys() throws {
        let sgd = try OptimizerConfiguration(
            spec: "sgd:lr=0.01,momentum=0.9,nesterov=true,weight_decay=5e-4,maximize=1")
        #expect(
            sgd == .sgd(SGDHyperparameters(lr: 0.01, momentum: 0.9, weightDecay: 5e-4, nesterov: true, maximize: true)))
        let adam = try OptimizerConfiguration(spec: "adam:lr=1e-3,beta1=0.8,beta2=0.99,eps=1e-6,amsgrad=true")
        #expect(adam == .adam(AdamHyperparameters(lr: 1e-3, beta1: 0.8, beta2: 0.99, eps: 1e-6, amsgrad: true)))
        #expect(adam.stateSlots == ["exp_avg", "exp_avg_sq", "max_exp_avg_sq"])
        #expect(adam.bytesPerParameter == 36)
        #expect(try OptimizerConfiguration(spec: "adamw").bytesPerParameter == 28)
        #expect(try OptimizerConfiguration(spec: "sgd:momentum=0.9").bytesPerParameter == 20)
    }

    @Test("spec round-trips through its canonical form", arguments: Verify.optimizerSpecs)
    func roundTrip(spec: String) throws {
        let configuration = try OptimizerConfiguration(spec: spec)
        #expect(try OptimizerConfiguration(spec: configuration.spec) == configuration)
    }

    @Test(
        "bad SPECs are usage errors that name the bad part and list the valid ones",
        arguments: [
            ("sophia:lr=1", "unknown optimizer 'sophia'", "sgd, adam, adamw, adadelta"),
            ("sgd:lr=-1", "'lr'", ">= 0"),
            ("sgd:momentum=0.9,foo=1", "unknown key 'foo'", "valid keys: lr, momentum"),
            ("adam:betas=0.9", "beta1= and beta2=", "valid keys"),
            ("adam:beta1=1.0", "'beta1'", "[0, 1)"),
            ("adam:beta2=-0.1", "'beta2'", "[0, 1)"),
            ("sgd:nesterov=true", "nesterov=true requires momentum > 0", "dampening = 0"),
            ("sgd:nesterov=true,momentum=0.9,dampening=0.1", "nesterov", "dampening=0.1"),
            ("sgd:lr=abc", "'abc'", "finite number"),
            ("sgd:lr=nan", "'nan'", "finite number"),
            ("adam:amsgrad=maybe", "'maybe'", "true or false"),
            ("sgd:lr", "malformed part 'lr'", "key=value"),
            ("sgd:lr=1,lr=2", "given twice", "lr"),
            ("adamw:decoupled_weight_decay=false", "unknown key 'decoupled_weight_decay'", "valid keys"),
        ])
    func badSpecs(spec: String, mentions: String, alsoMentions: String) {
        do {
            _ = try OptimizerConfiguration(spec: spec)
            Issue.record("'\(spec)' was accepted")
        } catch let error as EtaError {
            #expect(error.kind == .usage)
            #expect(error.exitCode == 64)
            #expect(error.message.contains(mentions), "\(error.message)")
            #expect(error.message.contains(alsoMentions), "\(error.message)")
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }
}

@Suite("Family optimizer SPECs")
struct FamilySpecTests {
    @Test("PyTorch's and lion-pytorch's defaults")
    func defaults() throws {
        let rmsprop = try #require(try OptimizerConfiguration(spec: "rmsprop").rule as? RMSprop)
        #expect(rmsprop.lr == 1e-2 && rmsprop.alpha == 0.99 && rmsprop.eps == 1e-8 && !rmsprop.centered)
        let lion = try #require(try OptimizerConfiguration(spec: "lion").rule as? Lion)
        #expect(lion.lr == 1e-4 && lion.beta1 == 0.9 && lion.beta2 == 0.99)
        let adadelta = try #require(try OptimizerConfiguration(spec: "adadelta").rule as? Adadelta)
        #expect(adadelta.lr == 1.0 && adadelta.rho == 0.9 && adadelta.eps == 1e-6)
        #expect(
            try OptimizerConfiguration(spec: "rmsprop:momentum=0.9,centered=true").stateSlots == [
                "square_avg", "momentum_buffer", "grad_avg",
            ])
        #expect(try OptimizerConfiguration(spec: "nadam").bytesPerParameter == 28)
    }

    @Test(
        "bad family SPECs are usage errors",
        arguments: [
            ("adamax:beta1=1", "[0, 1)"), ("rmsprop:centered=maybe", "true or false"), ("lion:lr=-1", ">= 0"),
            ("radam:gamma=2", "unknown key 'gamma'"), ("nadam:lr=x", "finite number"),
        ])
    func bad(spec: String, message: String) {
        do { _ = try OptimizerConfiguration(spec: spec); Issue.record("accepted \(spec)") } catch let error as EtaError
        {
            #expect(error.exitCode == 64 && error.message.contains(message), "\(error.message)")
        } catch { Issue.record("\(error)") }
    }
}

/// The one test every optimizer passes: being in the registry puts it under every shared check.
@Suite("Every registered optimizer")
struct OptimizerRegistryTests {
    @Test(
        "parses from its name, prints a SPEC that parses back to it, and is covered by eta verify",
        arguments: OptimizerConfiguration.rules.map { $0.name })
    func registered(name: String) throws {
        let configuration = try OptimizerConfiguration(spec: name)
        #expect(configuration.name == name)
        #expect(try OptimizerConfiguration(spec: configuration.spec) == configuration)
        #expect(OptimizerConfiguration.keys(for: name).first == "lr")
        #expect(
            Verify.optimizerSpecs.contains { $0 == name || $0.hasPrefix(name + ":") },
            "eta verify does not check \(name)")
        if configuration.capabilities.compactStorage {
            #expect(
                Verify.stateStorageSpecs.contains { $0 == name || $0.hasPrefix(name + ":") },
                "no 16-bit state check of \(name)")
        }
        // The kernel scalars fit the kernels' twelve arguments at any step.
        var host: [String: Double] = [:]
        for step in [1, 2, 1000] {
            #expect(
                configuration.stepScalars(step: step, lr: configuration.learningRate, host: &host).values.count <= 12)
        }
    }

    @Test("names are unique and every key has a distinct name")
    func unique() {
        #expect(Set(OptimizerConfiguration.names).count == OptimizerConfiguration.names.count)
        for rule in OptimizerConfiguration.rules {
            let keys = OptimizerConfiguration.keys(for: rule.name)
            #expect(Set(keys).count == keys.count, "\(rule.name): \(keys)")
        }
    }
}
