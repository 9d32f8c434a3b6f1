import Foundation

/// An optimizer as a value: one ``OptimizerRule`` with its hyperparameters.
///
/// ```swift
/// let config = try OptimizerConfiguration(spec: "adamw:lr=3e-4,weight_decay=0.05")
/// config.stateSlots  // ["exp_avg", "exp_avg_sq"]
/// ```
public struct OptimizerConfiguration: Equatable, Sendable {
    /// The optimizer and its hyperparameters.
    public var rule: any OptimizerRule

    /// - Parameter rule: The optimizer and its hyperparameters.
    public init(_ rule: any OptimizerRule) { self.rule = rule }

    /// Every optimizer (SGD and Adam first, then by name): the one registry of optimizers.
    public static let rules: [any OptimizerRule.Type] = [
        SGD.self, Adam.self, AdamW.self, Adadelta.self, Adafactor.self, Adagrad.self, Adamax.self, ASGD.self,
        DAdaptAdam.self, LAMB.self, Lion.self, Muon.self, NAdam.self, Prodigy.self, RAdam.self, RMSprop.self,
        Rprop.self, ScheduleFreeAdamW.self, ScheduleFreeSGD.self,
    ]

    /// The optimizer names a SPEC may start with.
    public static let names = rules.map { $0.name }

    /// Equal when both wrap the same rule type with equal hyperparameters.
    ///
    /// - Parameters:
    ///   - lhs: A configuration.
    ///   - rhs: Another configuration.
    /// - Returns: Whether they are equal.
    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.rule.isEqual(to: rhs.rule) }

    /// The SPEC name, e.g. `adamw`.
    public var name: String { type(of: rule).name }
    /// The configured learning rate.
    public var learningRate: Double { rule.lr }
    /// The state slots, with PyTorch's state names, that an arena must hold.
    public var stateSlots: [String] { rule.stateSlots }
    /// What the optimizer supports.
    public var capabilities: OptimizerCapabilities { type(of: rule).capabilities }
    /// Whether a step runs two passes with sums over the arena between them (LAMB, Prodigy, D-Adaptation).
    public var isTwoPass: Bool { rule.twoPassShape != nil }
    /// Schedule-Free's averaging β (nil for the others).
    public var averagingBeta: Double? { rule.averagingBeta }

    /// Bytes read and written per parameter by one float32 update (the figure GB/s is computed from).
    public var bytesPerParameter: Int { bytesPerParameter(stateType: .fp32) }

    /// Bytes read and written per parameter by one update with state stored as `stateType` and parameters as
    /// `parameterType` (with `master`, a float32 copy is read and written and the 16-bit parameters only written).
    ///
    /// - Parameters:
    ///   - stateType: How the state slots are stored.
    ///   - parameterType: How the parameters are stored.
    ///   - master: Whether a float32 master copy of 16-bit parameters is updated.
    /// - Returns: Bytes per parameter; a two-pass optimizer's float32 figure whatever the storage.
    public func bytesPerParameter(
        stateType: StorageType, parameterType: StorageType = .fp32, master: Bool = false
    ) -> Int {
        if let twoPass = rule.twoPassBytesPerParameter { return twoPass }
        // g read; p read and written (or the master read and written, and p written); each state slot read and written.
        let parameters = master ? 8 + parameterType.bytes : 2 * parameterType.bytes
        return 4 + parameters + 2 * stateType.bytes * stateSlots.count
    }

    /// The keys `name` accepts (empty for an unknown name).
    ///
    /// - Parameter name: An optimizer name, e.g. `adamw`.
    /// - Returns: Its SPEC keys in the order `spec` prints them.
    public static func keys(for name: String) -> [String] {
        rules.first { $0.name == name }.map { $0.keyNames } ?? []
    }
}

extension OptimizerConfiguration {
    /// SGD with these hyperparameters.
    ///
    /// - Parameter h: SGD's hyperparameters.
    /// - Returns: The configuration.
    public static func sgd(_ h: SGD) -> Self { Self(h) }
    /// Adam with these hyperparameters.
    ///
    /// - Parameter h: Adam's hyperparameters.
    /// - Returns: The configuration.
    public static func adam(_ h: Adam) -> Self { Self(h) }
    /// AdamW with `h`'s hyperparameters (its decay is always decoupled).
    ///
    /// - Parameter h: The hyperparameters (`decoupledWeightDecay` is ignored).
    /// - Returns: The configuration.
    public static func adamw(_ h: Adam) -> Self { Self(AdamW(h)) }
}

extension OptimizerRule {
    func isEqual(to other: any OptimizerRule) -> Bool { (other as? Self) == self }

    static var keyNames: [String] { keys.map(\.name) }

    /// The shape of the first pass, without the rule's type (nil for one pass).
    var twoPassShape: (accumulateKernel: String, accumulateSlots: [String], perTensor: Bool, finishes: Bool)? {
        twoPass.map { ($0.accumulateKernel, $0.accumulateSlots, $0.perTensor, $0.finish != nil) }
    }

}
