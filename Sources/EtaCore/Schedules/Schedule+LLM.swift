import Foundation

/// The schedules LLM training runs on, which live in Hugging Face `transformers` rather than in PyTorch: their
/// factors are `transformers.optimization`'s lambdas, applied to the base lr as its `LambdaLR` does (step k, from 0).
extension Schedule {
    /// `get_wsd_schedule(num_warmup_steps, num_decay_steps, num_training_steps, num_stable_steps, warmup_type="linear",
    /// decay_type="cosine", min_lr_ratio=0, num_cycles=0.5)`: a warmup from `min_lr_ratio` to 1, a constant stage,
    /// then a decay back to `min_lr_ratio`, which stays after it. `1-sqrt` is the cooldown Hägele et al. (2024,
    /// "Scaling Laws and Compute-Optimal Training Beyond Fixed Training Durations") found best.
    public struct WarmupStableDecay: Equatable, Sendable {
        /// The shapes of the warmup and the decay.
        public static let shapes = ["linear", "cosine", "1-sqrt"]
        /// Steps of warmup, `num_warmup_steps`.
        public var warmup = 0
        /// Steps at the full lr, `num_stable_steps`; nil: the run's length minus warmup and decay
        /// (`num_training_steps - num_warmup_steps - num_decay_steps`).
        public var stable: Int?
        /// Steps of decay, `num_decay_steps` (required).
        public var decay: Int
        /// `linear`, `cosine` or `1-sqrt`, `warmup_type`.
        public var warmupType = "linear"
        /// `linear`, `cosine` or `1-sqrt`, `decay_type`.
        public var decayType = "cosine"
        /// The lr's floor as a share of the base lr, `min_lr_ratio`.
        public var minLRRatio = 0.0
        /// Cosine periods over the decay, `num_cycles` (0.5: a half cosine down to the floor).
        public var numCycles = 0.5

        /// - Parameter decay: Steps of decay.
        public init(decay: Int) { self.decay = decay }

        /// The factor of step k.
        ///
        /// - Parameters:
        ///   - k: The step, from 0.
        ///   - totalSteps: The run's length, for the default `stable`; nil: 0 stable steps.
        /// - Returns: The multiplier of the base lr.
        public func factor(at k: Int, totalSteps: Int?) -> Double {
            let stable = self.stable ?? max(0, (totalSteps ?? 0) - warmup - decay)
            let floor = minLRRatio
            if k < warmup {
                let progress = Double(k) / Double(max(1, warmup))
                let rise: Double
                switch warmupType {
                case "cosine": rise = 0.5 * (1 - cos(Double.pi * progress))
                case "1-sqrt": rise = 1 - (1 - progress).squareRoot()
                default: rise = progress
                }
                return max(0, rise * (1 - floor) + floor)
            }
            if k < warmup + stable { return 1 }
            if k < warmup + stable + decay {
                let progress = Double(k - warmup - stable) / Double(max(1, decay))
                let fall: Double
                switch decayType {
                case "linear": fall = 1 - progress
                case "1-sqrt": fall = 1 - progress.squareRoot()
                default: fall = 0.5 * (1 + cos(Double.pi * numCycles * 2 * progress))
                }
                return max(0, fall * (1 - floor) + floor)
            }
            return floor
        }
    }

    /// The inverse-square-root factor of step k (`_get_inverse_sqrt_schedule_lr_lambda`).
    ///
    /// - Parameters:
    ///   - k: The step, from 0.
    ///   - warmup: Steps of linear warmup from 0.
    ///   - timescale: The decay's timescale; nil: the warmup, or 10,000 when there is none.
    /// - Returns: The multiplier of the base lr.
    static func inverseSqrtFactor(at k: Int, warmup: Int, timescale: Int?) -> Double {
        if k < warmup { return Double(k) / Double(max(1, warmup)) }
        let timescale = Double(timescale ?? (warmup > 0 ? warmup : 10_000))
        return 1 / ((Double(k) + timescale - Double(warmup)) / timescale).squareRoot()
    }
}
