/// Anything that maps a step (0-based) and a base lr to a learning rate.
public protocol LearningRateFunction: Sendable {
    /// The learning rate of step k.
    ///
    /// - Parameters:
    ///   - k: The step, from 0.
    ///   - base: The base learning rate.
    /// - Returns: The learning rate.
    func learningRate(at k: Int, base: Double) -> Double
}

extension Schedule: LearningRateFunction {
    /// The learning rate of step k without a total length (onecycle then needs its own total_steps).
    ///
    /// - Parameters:
    ///   - k: The step, from 0.
    ///   - base: The base learning rate.
    /// - Returns: The learning rate.
    public func learningRate(at k: Int, base: Double) -> Double { learningRate(at: k, base: base, totalSteps: nil) }
}

/// PyTorch's `SequentialLR` semantics: schedule i runs from milestone i−1, restarted at its own step 0.
///
/// ```swift
/// let warmupThenCosine = SequentialSchedule([try Schedule(spec: "linear:start_factor=0.1,total_iters=10"),
///                                            try Schedule(spec: "cosine:t_max=90")], milestones: [10])
/// ```
public struct SequentialSchedule: LearningRateFunction {
    /// The schedules, in order.
    public let schedules: [any LearningRateFunction]
    /// The steps at which each schedule after the first starts: one fewer than the schedules.
    public let milestones: [Int]

    /// - Parameters:
    ///   - schedules: The schedules, in order.
    ///   - milestones: The steps at which the next schedule starts, `schedules.count − 1` of them (a precondition).
    public init(_ schedules: [any LearningRateFunction], milestones: [Int]) {
        precondition(
            milestones.count == schedules.count - 1,
            "SequentialSchedule needs one milestone between each pair of schedules")
        self.schedules = schedules
        self.milestones = milestones
    }

    /// The lr of the schedule active at step k, at its own step k − (its milestone).
    ///
    /// - Parameters:
    ///   - k: The step, from 0.
    ///   - base: The base learning rate.
    /// - Returns: The learning rate.
    public func learningRate(at k: Int, base: Double) -> Double {
        let index = milestones.filter { $0 <= k }.count
        let start = index == 0 ? 0 : milestones[index - 1]
        return schedules[index].learningRate(at: k - start, base: base)
    }
}

/// PyTorch's `ChainedScheduler` semantics: the schedules' multiplicative factors multiply.
public struct ChainedSchedule: LearningRateFunction {
    /// The schedules, all applied at every step.
    public let schedules: [any LearningRateFunction]

    /// - Parameter schedules: The schedules to chain.
    public init(_ schedules: [any LearningRateFunction]) { self.schedules = schedules }

    /// base × Π (schedule's lr / base).
    ///
    /// - Parameters:
    ///   - k: The step, from 0.
    ///   - base: The base learning rate.
    /// - Returns: The learning rate (0 when `base` is 0).
    public func learningRate(at k: Int, base: Double) -> Double {
        guard base != 0 else { return 0 }
        return schedules.reduce(base) { $0 * $1.learningRate(at: k, base: base) / base }
    }
}

/// The CLI's composition: an optional warmup followed by a main schedule (SequentialLR semantics: the main
/// schedule starts at its own step 0 when the warmup ends), including `plateau`, whose state is kept here and
/// advanced by `observe(metric:afterStep:)`, which PyTorch cannot compose.
///
/// ```swift
/// var plan = try SchedulePlan(main: try Schedule(spec: "plateau:patience=2"),
///                             warmup: try Schedule(spec: "linear:start_factor=0.1,total_iters=5"),
///                             base: 0.1, totalSteps: 100)
/// plan.learningRate(at: 0)   // 0.01
/// ```
public struct SchedulePlan: Sendable {
    /// The main schedule, from the end of the warmup.
    public let main: Schedule
    /// The warmup (`constant`, `linear` or `polynomial`); nil: none.
    public let warmup: Schedule?
    /// The optimizer's learning rate.
    public let base: Double
    /// Steps the plan will be asked for (onecycle's default total_steps, after the warmup).
    public let totalSteps: Int?
    /// The state of a `plateau` main schedule; nil for the others.
    public private(set) var plateau: PlateauState?

    /// Steps of warmup: the warmup's total_iters, 0 without one.
    public var warmupLength: Int { warmup?.warmupLength ?? 0 }

    /// - Parameters:
    ///   - main: The main schedule.
    ///   - warmup: A `constant`, `linear` or `polynomial` schedule whose total_iters is the warmup's length; nil: none.
    ///   - base: The optimizer's learning rate.
    ///   - totalSteps: The run's length in steps, warmup included; nil when unknown.
    /// - Throws: `EtaError` `.usage` for another warmup schedule, a onecycle total_steps shorter than the run, or a
    ///   wsd without `stable` when the run's length is unknown.
    public init(main: Schedule, warmup: Schedule? = nil, base: Double, totalSteps: Int?) throws {
        if let warmup {
            guard warmup.warmupLength != nil else {
                throw EtaError(
                    .usage,
                    "a warmup must be a constant, linear or polynomial schedule (its total_iters is the warmup length)")
            }
        }
        self.main = main
        self.warmup = warmup
        self.base = base
        self.totalSteps = totalSteps
        if case .plateau(let p) = main { plateau = PlateauState(p, learningRate: base) }
        if case .wsd(let w) = main, w.stable == nil, totalSteps == nil {
            throw EtaError(
                .usage,
                "wsd needs stable=S when the run's length is unknown (it defaults to the run's steps minus warmup "
                    + "and decay, as get_wsd_schedule's num_training_steps does)")
        }
        if case .onecycle(let o) = main, let explicit = o.totalSteps, let total = totalSteps,
            total - warmupLength > explicit + 1
        {
            throw EtaError(
                .usage,
                "onecycle total_steps=\(explicit) is shorter than the \(total - warmupLength) steps it would run "
                    + "(PyTorch's OneCycleLR raises 'Tried to step ... times')"
            )
        }
    }

    private var mainSteps: Int? { totalSteps.map { $0 - warmupLength } }

    /// The lr a warmup scales. As in PyTorch, where constructing OneCycleLR or CyclicLR rewrites the group's
    /// `initial_lr`: max_lr / div_factor for onecycle, base_lr for cyclic, else the base lr.
    var warmupBase: Double {
        switch main {
        case .onecycle(let o): return (o.maxLR ?? base) / o.divFactor
        case .cyclic(let c): return c.baseLR ?? base
        default: return base
        }
    }

    /// The learning rate of step k (0-based).
    ///
    /// - Parameter k: The step, from 0.
    /// - Returns: The learning rate.
    public func learningRate(at k: Int) -> Double {
        if let warmup, k < warmupLength { return warmup.learningRate(at: k, base: warmupBase) }
        if let plateau { return plateau.learningRate }
        return main.learningRate(at: k - warmupLength, base: base, totalSteps: mainSteps)
    }

    /// The cycled momentum (or beta1) of step k, if the main schedule cycles it.
    ///
    /// - Parameter k: The step, from 0.
    /// - Returns: The momentum or beta1, or nil when nothing cycles it.
    public func momentum(at k: Int) -> Double? {
        guard k >= warmupLength else {
            // PyTorch's cycling schedulers set max_momentum when constructed, which holds through a warmup.
            switch main {
            case .onecycle(let o): return o.cycleMomentum ? o.maxMomentum : nil
            case .cyclic(let c): return c.cycleMomentum ? c.maxMomentum : nil
            default: return nil
            }
        }
        return main.momentum(at: k - warmupLength, base: base, totalSteps: mainSteps)
    }

    /// Feeds a metric observed after step k to `plateau` (ignored during the warmup and by other schedules).
    ///
    /// - Parameters:
    ///   - metric: The metric (e.g. the validation loss).
    ///   - k: The last step taken, from 0.
    public mutating func observe(metric: Double, afterStep k: Int) {
        guard k >= warmupLength, plateau != nil else { return }
        plateau!.step(metric: metric)
    }

    /// Restores plateau state (checkpoints).
    ///
    /// - Parameter state: The saved plateau state; nil clears it.
    public mutating func restore(plateau state: PlateauState?) { plateau = state }
}
