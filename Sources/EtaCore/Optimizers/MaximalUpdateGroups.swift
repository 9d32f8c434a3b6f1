/// μP's per-tensor learning rates and weight decays, as the `mup` package's optimizers set them (with its default
/// `decoupled_wd=False`), applied through parameter groups.
extension MaximalUpdate {
    /// Which of the `mup` package's optimizers a configuration follows.
    public enum OptimizerFamily: Sendable {
        /// `MuAdam`: tensors with two infinite dimensions take lr / (fan-in multiplier), weight decay × it.
        case adam
        /// `MuSGD`: one infinite dimension: lr × its multiplier, weight decay / it; two: lr / (fan-in / fan-out
        /// multiplier), weight decay × it.
        case sgd
    }

    /// The optimizers that normalise their steps per coordinate take MuAdam's scaling, the plain-gradient ones MuSGD's.
    static let adamFamily = [
        "adam", "adamw", "adamax", "nadam", "radam", "rmsprop", "adagrad", "lion", "schedulefree_adamw",
    ]
    static let sgdFamily = ["sgd", "asgd", "schedulefree_sgd"]

    /// The family of `optimizer`.
    ///
    /// - Parameter optimizer: The configuration.
    /// - Returns: Adam's or SGD's scaling.
    /// - Throws: `EtaError` `.usage` for an optimizer μP has no rule for, naming those it has.
    public static func family(of optimizer: OptimizerConfiguration) throws -> OptimizerFamily {
        if adamFamily.contains(optimizer.name) { return .adam }
        if sgdFamily.contains(optimizer.name) { return .sgd }
        throw EtaError(
            .usage,
            "μP scales learning rates as the mup package does for Adam-family and SGD optimizers: "
                + (adamFamily + sgdFamily).joined(separator: ", ") + "; \(optimizer.name) is not one of them")
    }

    /// The factors on the learning rate and the weight decay of the tensor `name`.
    ///
    /// - Parameters:
    ///   - name: A tensor of the model.
    ///   - family: The optimizer's family.
    /// - Returns: The factors (1 for a tensor with no infinite dimension).
    public func factors(_ name: String, family: OptimizerFamily) -> (lr: Double, weightDecay: Double) {
        guard let shape = shapes[name] else { return (1, 1) }
        switch (family, shape.count) {
        case (.adam, 2): return (1 / shape.widthMultiplier, shape.widthMultiplier)
        case (.sgd, 1): return (shape.widthMultiplier, 1 / shape.widthMultiplier)
        case (.sgd, 2): return (1 / shape.fanInFanOutRatio, shape.fanInFanOutRatio)
        default: return (1, 1)
        }
    }

    /// The groups a run uses: for each tensor the user's group (the first whose pattern matches) times μP's factors,
    /// as one group per tensor that differs from the optimizer's own values.
    ///
    /// - Parameters:
    ///   - user: The user's groups (`--param-group`, `--no-decay`).
    ///   - layout: The model's tensors.
    ///   - optimizer: The configuration (its weight decay is the default a group scales).
    /// - Returns: The groups, by exact tensor name.
    /// - Throws: `EtaError` `.usage` for an optimizer μP has no rule for.
    public func parameterGroups(
        user: [ParameterGroup], layout: TensorLayout, optimizer: OptimizerConfiguration
    ) throws -> [ParameterGroup] {
        let family = try Self.family(of: optimizer)
        return layout.entries.compactMap { entry in
            let own = user.first { $0.matches(entry.name) }
            let (lr, decay) = factors(entry.name, family: family)
            let scale = (own?.lrScale ?? 1) * lr
            let weightDecay = own?.weightDecay.map { $0 * decay } ?? (decay != 1 ? optimizer.weightDecay * decay : nil)
            guard scale != 1 || weightDecay != nil else { return nil }
            return ParameterGroup(pattern: entry.name, lrScale: scale, weightDecay: weightDecay)
        }
    }
}
