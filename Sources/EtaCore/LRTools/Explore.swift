/// One step of an `explore` run: the learning rate used, the loss at the point before the step, and the
/// point after it.
public struct ExploreStep: Equatable, Sendable {
    /// The step, from 1.
    public let step: Int
    /// The learning rate the step used.
    public let learningRate: Double
    /// The loss at the point before the step.
    public let loss: Float
    /// The point after the step.
    public let x: [Float]
    /// The optimizer's step-size estimate after the step (Prodigy's and D-Adaptation's d; their effective lr is
    /// d·lr); nil for optimizers that keep none.
    public var stepSizeEstimate: Double? = nil
}

/// What a trajectory did.
public enum ExploreVerdict: String, Sendable {
    /// Reached the minimum (loss at most 1e-6 of the start, or below 1e-10).
    case converged
    /// Still going down but not there yet.
    case descending
    /// The loss keeps going up and down, or the path keeps reversing direction: the lr is near its stability limit.
    case oscillating
    /// The loss grew past 10× the start or became non-finite: the lr is too large.
    case diverged
    /// Settled at a point whose loss is above the global minimum's (a multi-modal function's local minimum): the lr
    /// was too small to leave its basin.
    case localMinimum = "local minimum"
}

/// Runs one optimizer on a test function on a backend, recording what its learning rate does.
///
/// The gradient is computed on the host in float32 each step and copied to the device, and the update
/// runs on the backend, so the trajectory exercises the backend's kernels.
///
/// ```swift
/// let run = try Explore.run(objective: .rosenbrock, optimizer: .adam(Adam(lr: 0.01)),
///                           steps: 300, backend: CPUBackend())
/// print(run.verdict, run.steps.last!.x)
/// ```
public enum Explore {
    /// A trajectory and its verdict.
    public struct Run: Sendable {
        /// Every step, in order.
        public let steps: [ExploreStep]
        /// The starting point.
        public let start: [Float]
        /// The loss at the last point.
        public let finalLoss: Float
        /// What the trajectory did.
        public let verdict: ExploreVerdict
    }

    /// Runs `steps` steps of `configuration` from `start` and classifies the trajectory.
    ///
    /// - Parameters:
    ///   - objective: The test function.
    ///   - configuration: The optimizer, at its configured learning rate.
    ///   - steps: Steps to take, in 0...``RunLimits/steps``.
    ///   - start: The starting point, one value per coordinate; nil: the objective's default start.
    ///   - backend: The backend the updates run on.
    /// - Returns: The steps, the final loss and the verdict.
    /// - Throws: `EtaError` `.usage` for a step count out of range or a start of the wrong dimension, or the
    ///   backend's error.
    public static func run(
        objective: Objective, optimizer configuration: OptimizerConfiguration, steps: Int,
        start: [Float]? = nil, backend: Backend
    ) throws -> Run {
        try RunLimits.check(steps, in: 0...RunLimits.steps, option: "steps")
        let start = start ?? objective.defaultStart
        guard start.count == objective.dimension else {
            throw EtaError(
                .usage,
                "the start point has \(start.count) values; the \(objective) objective needs \(objective.dimension)")
        }
        let layout = try TensorLayout([("x", objective.shape)])
        let arena = try ParameterArena(layout: layout, stateSlots: configuration.stateSlots, backend: backend)
        let optimizer = Optimizer(configuration)
        try optimizer.initializeState(arena)
        try arena.upload(start, to: .parameters)
        var x = start
        var record: [ExploreStep] = []
        record.reserveCapacity(steps)
        for k in 1...max(steps, 1) where k <= steps {
            let loss = objective.loss(at: x)
            try arena.upload(objective.gradient(at: x), to: .gradients)
            try optimizer.step(arena)
            x = try arena.download(.parameters)
            record.append(
                ExploreStep(
                    step: k, learningRate: configuration.learningRate, loss: loss, x: x,
                    stepSizeEstimate: optimizer.stepSizeEstimate))
        }
        let finalLoss = objective.loss(at: x)
        return Run(
            steps: record, start: start, finalLoss: finalLoss,
            verdict: verdict(
                initial: objective.loss(at: start), losses: record.map(\.loss) + [finalLoss],
                path: [start] + record.map(\.x), minimumLoss: objective.minimumLoss,
                hasLocalMinima: objective.hasLocalMinima))
    }

    /// Classifies a run from its losses (before each step, then the final loss) and its path (start, then the
    /// point after each step).
    ///
    /// - Parameters:
    ///   - initial: The loss at the start.
    ///   - losses: The loss before each step, then the final loss.
    ///   - path: The start, then the point after each step; empty: the path is not examined.
    ///   - minimumLoss: f at the global minimum (0 for all but the matrix objective).
    ///   - hasLocalMinima: Whether the function has minima that are not global; a run that settles above the global
    ///     minimum's loss is then `localMinimum`.
    /// - Returns: The verdict (`descending` when there are no losses).
    public static func verdict(
        initial: Float, losses: [Float], path: [[Float]] = [], minimumLoss: Float = 0, hasLocalMinima: Bool = false
    ) -> ExploreVerdict {
        guard let final = losses.last else { return .descending }
        if losses.contains(where: { !$0.isFinite }) || final > 10 * max(initial, Float.leastNormalMagnitude) {
            return .diverged
        }
        let gap = final - minimumLoss
        if gap <= max(1e-6 * (initial - minimumLoss), 1e-10) { return .converged }
        // Settled: over the last tenth of the path (at least 10 points) no coordinate moved by more than 1e-4.
        let settledPoints = path.suffix(max(10, path.count / 10))
        if hasLocalMinima, gap > 1e-3, settledPoints.count >= 10, let last = settledPoints.last,
            settledPoints.allSatisfy({ zip($0, last).allSatisfy { abs($0 - $1) <= 1e-4 } })
        {
            return .localMinimum
        }
        // Over the last half: the loss rises in at least a third of the steps, or some coordinate's step
        // reverses direction in at least half of them (a zig-zag across a valley whose loss still falls).
        let tail = losses.suffix(max(2, losses.count / 2))
        let rises = zip(tail, tail.dropFirst()).filter { $1 > $0 }.count
        if tail.count > 2 && Double(rises) >= Double(tail.count - 1) / 3 { return .oscillating }
        let points = Array(path.suffix(max(3, path.count / 2)))
        if points.count >= 3, let dimension = points.first?.count {
            for i in 0..<dimension {
                let moves = zip(points, points.dropFirst()).map { $1[i] - $0[i] }
                let reversals = zip(moves, moves.dropFirst()).filter { $0 * $1 < 0 }.count
                if Double(reversals) >= Double(moves.count - 1) / 2 { return .oscillating }
            }
        }
        return .descending
    }
}
