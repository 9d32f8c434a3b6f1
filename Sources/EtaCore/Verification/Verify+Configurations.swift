/// What `eta verify` checks: the optimizer configurations and the storage combinations.
extension Verify {
    /// The optimizer configurations checked: all nineteen optimizers, at their defaults and with their options (every
    /// option of SGD, Adam and AdamW alone and combined).
    public static let optimizerSpecs = [
        "sgd:lr=0.1",
        "sgd:lr=0.1,weight_decay=0.01",
        "sgd:lr=0.1,maximize=true",
        "sgd:lr=0.1,momentum=0.9",
        "sgd:lr=0.1,momentum=0.9,dampening=0.3",
        "sgd:lr=0.1,momentum=0.9,nesterov=true",
        "sgd:lr=0.05,momentum=0.8,dampening=0.1,weight_decay=0.1,maximize=true",
        "sgd:lr=0.05,momentum=0.8,nesterov=true,weight_decay=0.1,maximize=true",
        "adam:lr=0.01",
        "adam:lr=0.01,weight_decay=0.1",
        "adam:lr=0.01,amsgrad=true",
        "adam:lr=0.01,maximize=true",
        "adam:lr=0.01,beta1=0.3,beta2=0.9,eps=1e-6",
        "adam:lr=0.01,weight_decay=0.1,decoupled_weight_decay=true",
        "adam:lr=0.01,weight_decay=0.1,amsgrad=true,maximize=true",
        "adamw:lr=0.01",
        "adamw:lr=0.01,weight_decay=0.1,amsgrad=true",
        "adamw:lr=0.01,maximize=true,beta1=0.6",
        "rmsprop:lr=0.01",
        "rmsprop:lr=0.01,centered=true,momentum=0.9,weight_decay=0.1,maximize=true",
        "rmsprop:lr=0.01,momentum=0.5,alpha=0.3",
        "rmsprop:lr=0.01,centered=true",
        "adagrad:lr=0.1",
        "adagrad:lr=0.1,lr_decay=0.01,weight_decay=0.1,initial_accumulator_value=0.5,maximize=true",
        "adadelta",
        "adadelta:lr=0.5,rho=0.3,eps=1e-4,weight_decay=0.1,maximize=true",
        "adamax",
        "adamax:lr=0.01,beta1=0.3,weight_decay=0.1,maximize=true",
        "nadam",
        "nadam:lr=0.01,weight_decay=0.1,momentum_decay=0.01",
        "nadam:lr=0.01,weight_decay=0.1,decoupled_weight_decay=true,maximize=true",
        "radam",
        "radam:lr=0.01,weight_decay=0.1,beta2=0.9",
        "radam:lr=0.01,weight_decay=0.1,decoupled_weight_decay=true,maximize=true,beta1=0.6",
        "lion",
        "lion:lr=0.001,weight_decay=0.1,beta1=0.95,beta2=0.98",
        "asgd",
        "asgd:lr=0.01,t0=0,lambd=0.01,alpha=0.5,weight_decay=0.1,maximize=true",
        "rprop",
        "rprop:lr=0.1,etaminus=0.3,etaplus=1.5,step_size_min=0.01,step_size_max=0.2,maximize=true",
        "schedulefree_adamw",
        "schedulefree_adamw:lr=0.01,weight_decay=0.1,warmup_steps=2,r=0.5,weight_lr_power=1,beta1=0.6",
        "schedulefree_sgd",
        "schedulefree_sgd:lr=0.1,weight_decay=0.1,warmup_steps=2,momentum=0.5",
        "lamb",
        "lamb:lr=0.01,weight_decay=0.1,beta1=0.6,eps=1e-8",
        "prodigy",
        "prodigy:weight_decay=0.1,use_bias_correction=true,safeguard_warmup=true,d_coef=2",
        "prodigy:beta1=0,weight_decay=0.1,decouple=false,beta3=0.9,growth_rate=1.5",
        "dadapt_adam",
        "dadapt_adam:weight_decay=0.1,decouple=true,use_bias_correction=true,growth_rate=2",
        "dadapt_adam:weight_decay=0.1,beta1=0.5",
        "muon",
        "muon:lr=0.02,nesterov=false,weight_decay=0,adjust_lr_fn=match_rms_adamw",
        "muon:momentum=0.5,ns_steps=2,adjust_lr_fn=spectral_unclamped",
        "adafactor",
        "adafactor:lr=0.1,beta2_decay=-0.5,weight_decay=0.1,d=2,maximize=true,eps2=0.01",
    ]

    /// Configurations checked again with 16-bit state storage (bf16 and fp16), against the Reference whose state
    /// is rounded to the storage type after every step, exactly as the kernels store it.
    public static let stateStorageSpecs = [
        "sgd:lr=0.1,momentum=0.9,weight_decay=0.1",
        "adam:lr=0.01,amsgrad=true",
        "adamw:lr=0.01,weight_decay=0.1",
        "rmsprop:lr=0.01,centered=true,momentum=0.9",
        "adagrad:lr=0.1,initial_accumulator_value=0.5",
        "adadelta",
        "adamax",
        "nadam",
        "radam",
        "lion",
        "asgd:lr=0.01,t0=0",
        "rprop",
    ]

    /// Configurations checked with 16-bit parameters, alone or with a float32 master copy (and once with bf16 state
    /// too), against the Reference whose parameters are rounded after every step (or whose float32 parameters are the
    /// master and their rounding the stored parameters).
    public static let parameterStorageSpecs = [
        "sgd:lr=0.1,momentum=0.9,weight_decay=0.1",
        "adam:lr=0.01,amsgrad=true",
        "adamw:lr=0.01,weight_decay=0.1",
        "rmsprop:lr=0.01,centered=true,momentum=0.9",
        "lion",
    ]

    /// State and parameter storage of a checked configuration.
    public typealias Storage = StorageLayout

    /// Every (SPEC, storage) pair `run` checks beyond the float32 ones.
    public static var storageChecks: [(spec: String, storage: Storage)] {
        [StorageType.bf16, .fp16].flatMap { type in stateStorageSpecs.map { ($0, Storage(state: type)) } }
            + [
                Storage(parameters: .bf16), Storage(parameters: .bf16, master: true),
                Storage(parameters: .fp16, master: true),
            ].flatMap { storage in
                parameterStorageSpecs.map { ($0, storage) }
            }
            + [("adamw:lr=0.01,weight_decay=0.1", Storage(state: .bf16, parameters: .bf16, master: true))]
    }

    /// The label of a configuration checked with `storage`.
    ///
    /// - Parameters:
    ///   - spec: The optimizer SPEC.
    ///   - storage: The storage combination.
    /// - Returns: `spec`, followed by the storage in brackets unless everything is float32.
    public static func label(_ spec: String, _ storage: Storage) -> String {
        storage == Storage() ? spec : "\(spec) [\(storage.label)]"
    }
}
