import Foundation

/// A learning-rate schedule with PyTorch's names, arguments, defaults and values (`torch.optim.lr_scheduler`).
///
/// Each is a pure function of the step k (0-based: the k-th optimizer step uses `learningRate(at: k, base:)`),
/// except `plateau`, whose state lives in `PlateauState`. `cyclic` and `onecycle` also give the momentum (or
/// Adam's beta1) of each step, as PyTorch cycles it.
///
/// ```swift
/// let cosine = try Schedule(spec: "cosine:t_max=100,eta_min=1e-5")
/// cosine.learningRate(at: 50, base: 0.1)   // 0.0500005
/// ```
public enum Schedule: Equatable, Sendable {
    /// No schedule: the base lr at every step.
    case none
    /// `ConstantLR(factor=1/3, total_iters=5)`: base·factor before total_iters, then base.
    case constant(factor: Double, totalIters: Int)
    /// `StepLR(step_size, gamma=0.1)`.
    case step(stepSize: Int, gamma: Double)
    /// `MultiStepLR(milestones, gamma=0.1)`; milestones written `30/80`.
    case multistep(milestones: [Int], gamma: Double)
    /// `ExponentialLR(gamma)`.
    case exponential(gamma: Double)
    /// `CosineAnnealingLR(T_max, eta_min=0)`; keeps running past T_max (the cosine rises again).
    case cosine(tMax: Int, etaMin: Double)
    /// `CosineAnnealingWarmRestarts(T_0, T_mult=1, eta_min=0)`.
    case cosineRestarts(t0: Int, tMult: Int, etaMin: Double)
    /// `LinearLR(start_factor=1/3, end_factor=1, total_iters=5)`.
    case linear(startFactor: Double, endFactor: Double, totalIters: Int)
    /// `PolynomialLR(total_iters=5, power=1)`.
    case polynomial(totalIters: Int, power: Double)
    /// `CyclicLR`.
    case cyclic(Cyclic)
    /// `OneCycleLR`.
    case onecycle(OneCycle)
    /// `ReduceLROnPlateau`, driven by a metric (see `PlateauState`).
    case plateau(Plateau)
    /// Warmup-stable-decay, as `transformers.get_wsd_schedule`.
    case wsd(WarmupStableDecay)
    /// `transformers.get_inverse_sqrt_schedule(num_warmup_steps, timescale)`: a linear warmup, then
    /// 1/√((k + timescale − warmup) / timescale); timescale nil: the warmup, or 10,000 without one.
    case inverseSqrt(warmup: Int, timescale: Int?)

    /// `CyclicLR(base_lr, max_lr, step_size_up=2000, step_size_down=None, mode="triangular", gamma=1.0,
    /// cycle_momentum=True, base_momentum=0.8, max_momentum=0.9)`. base_lr defaults to the optimizer's lr.
    public struct Cyclic: Equatable, Sendable {
        /// The lower bound, `base_lr`; nil: the optimizer's lr.
        public var baseLR: Double?
        /// The upper bound, `max_lr` (required).
        public var maxLR: Double
        /// Steps from the lower bound to the upper one, `step_size_up`.
        public var stepSizeUp: Int = 2000
        /// Steps back down, `step_size_down`; nil: `stepSizeUp`.
        public var stepSizeDown: Int?
        /// `triangular`, `triangular2` (the amplitude halves every cycle) or `exp_range` (scaled by gamma^k), `mode`.
        public var mode = "triangular"
        /// The factor of `exp_range`, `gamma`.
        public var gamma = 1.0
        /// Whether momentum (or beta1) cycles inversely to the lr, `cycle_momentum`.
        public var cycleMomentum = true
        /// The momentum at the lr's peak, `base_momentum`.
        public var baseMomentum = 0.8
        /// The momentum at the lr's bottom, `max_momentum`.
        public var maxMomentum = 0.9
    }

    /// `OneCycleLR(max_lr, total_steps, pct_start=0.3, anneal_strategy="cos", cycle_momentum=True,
    /// base_momentum=0.85, max_momentum=0.95, div_factor=25, final_div_factor=1e4, three_phase=False)`.
    /// max_lr defaults to the optimizer's lr, total_steps to the run's length.
    public struct OneCycle: Equatable, Sendable {
        /// The peak lr, `max_lr`; nil: the optimizer's lr.
        public var maxLR: Double?
        /// The cycle's length in steps, `total_steps`; nil: the run's length.
        public var totalSteps: Int?
        /// The share of the cycle spent rising, `pct_start`.
        public var pctStart = 0.3
        /// `cos` or `linear` annealing, `anneal_strategy`.
        public var annealStrategy = "cos"
        /// Whether momentum (or beta1) cycles inversely to the lr, `cycle_momentum`.
        public var cycleMomentum = true
        /// The momentum at the lr's peak, `base_momentum`.
        public var baseMomentum = 0.85
        /// The momentum at the start and end, `max_momentum`.
        public var maxMomentum = 0.95
        /// The initial lr is max_lr / div_factor, `div_factor`.
        public var divFactor = 25.0
        /// The final lr is the initial lr / final_div_factor, `final_div_factor`.
        public var finalDivFactor = 1e4
        /// Rise, fall back to the initial lr, then anneal to the final one, `three_phase`.
        public var threePhase = false
    }

    /// `ReduceLROnPlateau(mode="min", factor=0.1, patience=10, threshold=1e-4, threshold_mode="rel",
    /// cooldown=0, min_lr=0, eps=1e-8)`.
    public struct Plateau: Equatable, Sendable {
        /// `min` (a lower metric is better) or `max`, `mode`.
        public var mode = "min"
        /// The factor the lr is multiplied by on a plateau, `factor`.
        public var factor = 0.1
        /// Steps without improvement tolerated before the lr drops, `patience`.
        public var patience = 10
        /// The least change that counts as an improvement, `threshold`.
        public var threshold = 1e-4
        /// `rel` (threshold relative to the best) or `abs`, `threshold_mode`.
        public var thresholdMode = "rel"
        /// Steps to wait after a drop before counting again, `cooldown`.
        public var cooldown = 0
        /// The lr never drops below this, `min_lr`.
        public var minLR = 0.0
        /// A drop smaller than this is skipped, `eps`.
        public var eps = 1e-8
    }

    /// The learning rate of step k (0-based) for base lr `base`. For `plateau` this is the base (its state decides).
    ///
    /// - Parameters:
    ///   - k: The step, from 0.
    ///   - base: The optimizer's learning rate.
    ///   - totalSteps: The run's length, `onecycle`'s default total_steps; nil: 1.
    /// - Returns: The learning rate.
    public func learningRate(at k: Int, base: Double, totalSteps: Int? = nil) -> Double {
        let t = Double(k)
        switch self {
        case .none, .plateau: return base
        case .constant(let factor, let totalIters): return base * (k >= totalIters ? 1 : factor)
        case .step(let stepSize, let gamma): return base * pow(gamma, Double(k / stepSize))
        case .multistep(let milestones, let gamma):
            return base * pow(gamma, Double(milestones.sorted().filter { $0 <= k }.count))
        case .exponential(let gamma): return base * pow(gamma, t)
        case .cosine(let tMax, let etaMin):
            return etaMin + (base - etaMin) * (1 + cos(Double.pi * t / Double(tMax))) / 2
        case .cosineRestarts(let t0, let tMult, let etaMin):
            var (current, period) = (k, t0)
            // Constant periods: one remainder, not k/t0 subtractions (the loop below ends in log(k) rounds otherwise).
            if tMult == 1 { current = k % t0 }
            while current >= period {
                current -= period
                // A period past Int.max is past every step: saturate rather than trap.
                let (next, overflow) = period.multipliedReportingOverflow(by: tMult)
                period = overflow ? Int.max : next
            }
            return etaMin + (base - etaMin) * (1 + cos(Double.pi * Double(current) / Double(period))) / 2
        case .linear(let start, let end, let totalIters):
            return base * (start + (end - start) * Double(min(totalIters, k)) / Double(totalIters))
        case .polynomial(let totalIters, let power):
            return base * pow(1 - Double(min(totalIters, k)) / Double(totalIters), power)
        case .cyclic(let c):
            return cyclic(c, k: k, base: base).lr
        case .onecycle(let o):
            return oneCycle(o, k: k, base: base, totalSteps: totalSteps).lr
        case .wsd(let w): return base * w.factor(at: k, totalSteps: totalSteps)
        case .inverseSqrt(let warmup, let timescale):
            return base * Self.inverseSqrtFactor(at: k, warmup: warmup, timescale: timescale)
        }
    }

    /// The cycled momentum of step k (the optimizer's `momentum`, or its `beta1` where it has none), for schedules
    /// that cycle it; nil otherwise.
    ///
    /// - Parameters:
    ///   - k: The step, from 0.
    ///   - base: The optimizer's learning rate (cyclic's default base_lr, onecycle's default max_lr).
    ///   - totalSteps: The run's length, `onecycle`'s default total_steps.
    /// - Returns: The momentum or beta1 to use, or nil when the schedule does not cycle it.
    public func momentum(at k: Int, base: Double, totalSteps: Int? = nil) -> Double? {
        switch self {
        case .cyclic(let c): return c.cycleMomentum ? cyclic(c, k: k, base: base).momentum : nil
        case .onecycle(let o):
            return o.cycleMomentum ? oneCycle(o, k: k, base: base, totalSteps: totalSteps).momentum : nil
        default: return nil
        }
    }

    private func cyclic(_ c: Cyclic, k: Int, base: Double) -> (lr: Double, momentum: Double) {
        let up = Double(c.stepSizeUp), down = Double(c.stepSizeDown ?? c.stepSizeUp)
        let totalSize = up + down, stepRatio = up / totalSize
        let t = Double(k)
        let cycle = (1 + t / totalSize).rounded(.down)
        let x = 1 + t / totalSize - cycle
        let scale = x <= stepRatio ? x / stepRatio : (x - 1) / (stepRatio - 1)
        let factor: Double
        switch c.mode {
        case "triangular2": factor = 1 / pow(2, cycle - 1)
        case "exp_range": factor = pow(c.gamma, t)
        default: factor = 1
        }
        let baseLR = c.baseLR ?? base
        return (
            baseLR + (c.maxLR - baseLR) * scale * factor,
            c.maxMomentum - (c.maxMomentum - c.baseMomentum) * scale * factor
        )
    }

    private func oneCycle(_ o: OneCycle, k: Int, base: Double, totalSteps: Int?) -> (lr: Double, momentum: Double) {
        let total = Double(o.totalSteps ?? totalSteps ?? 1)
        let maxLR = o.maxLR ?? base
        let initial = maxLR / o.divFactor, minimum = initial / o.finalDivFactor
        typealias Phase = (end: Double, lr: (Double, Double), momentum: (Double, Double))
        let phases: [Phase] =
            o.threePhase
            ? [
                (o.pctStart * total - 1, (initial, maxLR), (o.maxMomentum, o.baseMomentum)),
                (2 * o.pctStart * total - 2, (maxLR, initial), (o.baseMomentum, o.maxMomentum)),
                (total - 1, (initial, minimum), (o.maxMomentum, o.maxMomentum)),
            ]
            : [
                (o.pctStart * total - 1, (initial, maxLR), (o.maxMomentum, o.baseMomentum)),
                (total - 1, (maxLR, minimum), (o.baseMomentum, o.maxMomentum)),
            ]
        func anneal(_ range: (Double, Double), _ pct: Double) -> Double {
            o.annealStrategy == "linear"
                ? (range.1 - range.0) * pct + range.0
                : range.1 + (range.0 - range.1) / 2 * (cos(Double.pi * pct) + 1)
        }
        var start = 0.0
        let step = Double(k)
        for (index, phase) in phases.enumerated() {
            if step <= phase.end || index == phases.count - 1 {
                let pct = (step - start) / (phase.end - start)
                return (anneal(phase.lr, pct), anneal(phase.momentum, pct))
            }
            start = phase.end
        }
        return (minimum, o.maxMomentum)
    }
}
