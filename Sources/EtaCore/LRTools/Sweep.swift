import Dispatch
import Foundation

/// Trains K replicas of one model with K learning rates at once: the same initial weights, the same data
/// order, every operation of a step batched over the replicas in the same launches, and one optimizer launch
/// with the replicas as parameter groups (each its own learning rate).
///
/// ```swift
/// var configuration = TrainingConfiguration()
/// configuration.epochs = 10
/// let sweep = try Sweep(configuration: configuration, learningRates: [1e-4, 1e-3, 1e-2, 1e-1], backend: CPUBackend())
/// let result = try sweep.run()
/// print(result.recommended.map { result.runs[$0].learningRate } as Any)
/// ```
public final class Sweep {
    /// What one learning rate did.
    public struct Run: Sendable {
        /// The replica's learning rate.
        public let learningRate: Double
        /// The training loss of the last epoch.
        public let finalTrainLoss: Float
        /// The lowest finite epoch training loss (NaN when none is finite).
        public let bestTrainLoss: Float
        /// The validation loss after the last epoch; nil without a validation split.
        public let finalValidationLoss: Float?
        /// The lowest finite validation loss; nil without one.
        public let bestValidationLoss: Float?
        /// The validation accuracy after the last epoch; nil for regression or without a validation split.
        public let finalValidationAccuracy: Float?
        /// The first step at which the replica diverged (a non-finite loss, a loss above ``Sweep/startFactor`` times its
        /// first one, or one above the guard's `spikeFactor` times its running average), if it did.
        public let divergedAtStep: Int?
        /// Which rule fired at ``divergedAtStep``, in words (e.g. "loss 29.1 above 4 × its start 2.3").
        public var divergenceReason: String? = nil
        /// Training loss per epoch.
        public let epochLosses: [Float]
        /// (step, batch loss) at every logged step.
        public let stepLosses: [(step: Int, loss: Float)]
        /// The step at which each epoch ended (the last may be part-way, with `--steps`).
        public var epochEndSteps: [Int] = []
        /// The loss on the dataset's official test rows after the last epoch; nil without a test split.
        public var testLoss: Float?
        /// The accuracy on the official test rows; nil for regression or without a test split.
        public var testAccuracy: Float?
    }

    /// Every replica's run, and the recommendation.
    public struct Result: Sendable {
        /// One run per learning rate, in the order given.
        public let runs: [Run]
        /// The index of the recommended run: the lowest final validation loss (training loss without a
        /// validation split) among those that did not diverge; nil when every one diverged.
        public let recommended: Int?
        /// Wall time of the sweep.
        public let seconds: Double
        /// Training rows processed per second, over all replicas.
        public let samplesPerSecond: Double
    }

    /// What each replica trains, and how.
    public let configuration: TrainingConfiguration
    /// One per replica.
    public let learningRates: [Double]
    /// The split every replica trains on.
    public let split: DataSplit
    /// The replicated model.
    public let network: Network
    /// The backend everything runs on.
    public let backend: Backend
    private let plans: [SchedulePlan]

    /// Optimizer steps (mini-batches) per epoch.
    public var stepsPerEpoch: Int {
        TrainingConfiguration.batchCount(rows: split.trainRows.count, batchSize: configuration.batchSize)
    }

    /// Builds the replicated model, every replica starting from the same seeded weights.
    ///
    /// - Parameters:
    ///   - configuration: The run every replica makes.
    ///   - learningRates: One finite learning rate > 0 per replica (at most 255).
    ///   - backend: The backend to train on.
    /// - Throws: `EtaError` `.usage` for an empty or invalid list, an optimizer without sweep replicas, gradient
    ///   accumulation, a plateau schedule or cycled momentum, or as ``Trainer`` does; or the backend's error.
    public init(configuration: TrainingConfiguration, learningRates: [Double], backend: Backend) throws {
        guard !learningRates.isEmpty else { throw EtaError(.usage, "a sweep needs at least one learning rate") }
        guard learningRates.allSatisfy({ $0 > 0 && $0.isFinite }) else {
            throw EtaError(.usage, "sweep learning rates must be finite and > 0 (got \(learningRates))")
        }
        if !configuration.optimizer.capabilities.sweepReplicas {
            throw EtaError(
                .usage,
                "sweeps run the one-pass optimizers; \(configuration.optimizer.name) is not supported in a sweep yet")
        }
        guard configuration.accumulationSteps == 1 else {
            throw EtaError(.usage, "sweeps do not accumulate gradients yet")
        }
        self.configuration = configuration
        self.learningRates = learningRates
        self.backend = backend
        // A one-replica trainer builds the split, checks the model against the data and gives the initial weights.
        let template = try Trainer(configuration: configuration, backend: backend)
        split = template.split
        network = try Network(
            architecture: template.network.architecture, loss: template.network.loss,
            optimizer: configuration.optimizer, maxBatch: configuration.bufferRows(template.split), backend: backend,
            replicas: learningRates.count, seed: configuration.seed)
        let steps = min(template.stepsPerEpoch * configuration.epochs, configuration.steps ?? Int.max)
        plans = try learningRates.map {
            try SchedulePlan(
                main: configuration.schedule, warmup: configuration.warmup, base: $0,
                totalSteps: configuration.scheduleInterval == .step ? steps : configuration.epochs)
        }
        if case .plateau = configuration.schedule {
            throw EtaError(.usage, "plateau is metric-driven per run; a sweep cannot share it")
        }
        if plans[0].momentum(at: plans[0].warmupLength) != nil {
            throw EtaError(
                .usage, "a sweep cannot cycle momentum per replica: add cycle_momentum=false to the schedule")
        }
        if !template.network.optimizer.groups.isEmpty {
            // μP's per-tensor learning rates (and the user's groups) in every replica.
            network.optimizer.replicaTensorLayout = template.network.architecture.layout
            network.optimizer.groups = template.network.optimizer.groups
        }
        let initial = template.network.architecture.initialParameters(seed: configuration.seed)
        var parameters = [Float](repeating: 0, count: network.arena.layout.count)
        for r in learningRates.indices {
            parameters.replaceSubrange(
                (r * network.replicaSize)..<(r * network.replicaSize + initial.count), with: initial)
        }
        try network.arena.upload(parameters, to: .parameters)
    }

    /// Trains every replica for the configured epochs.
    ///
    /// - Returns: Every replica's losses and the recommended one.
    /// - Throws: The backend's error, or `EtaError` `.software` for more than 255 replicas.
    public func run() throws -> Result {
        let start = DispatchTime.now().uptimeNanoseconds
        let k = learningRates.count, batch = configuration.batchSize
        let data = try SplitBuffers(split: split, backend: backend)
        var stepLosses = [[(step: Int, loss: Float)]](repeating: [], count: k)
        var epochLosses = [[Float]](repeating: [], count: k)
        var validationLosses = [[Float]](repeating: [], count: k)
        var validationAccuracy = [Float?](repeating: nil, count: k)
        var diverged = [Int?](repeating: nil, count: k)
        var reasons = [String?](repeating: nil, count: k)
        var watches = [DivergenceWatch](repeating: DivergenceWatch(), count: k)
        let spikeFactor = configuration.divergenceGuard.spikeFactor
        func watch(_ r: Int, _ loss: Float, step: Int, batch: Bool) {
            guard diverged[r] == nil,
                let reason = watches[r].check(loss, spikeFactor: spikeFactor, updatesAverage: batch)
            else { return }
            (diverged[r], reasons[r]) = (step, reason)
        }
        var step = 0
        var epochEnds: [Int] = []
        // --steps stops part-way through an epoch, whose training loss is then the mean over the rows it saw.
        let totalSteps = min(stepsPerEpoch * configuration.epochs, configuration.steps ?? Int.max)
        for epoch in 0..<configuration.epochs {
            guard step < totalSteps else { break }
            try data.load(epoch: epoch)
            try network.resetStats([.trainLossSum, .trainCorrect])
            var rowsSeen = 0
            for b in 0..<stepsPerEpoch {
                guard step < totalSteps else { break }
                let first = b * batch, rows = min(batch, split.trainRows.count - first)
                rowsSeen += rows
                try data.trainingStep(network, first: first, rows: rows)
                let index = configuration.scheduleInterval == .step ? step : step / stepsPerEpoch
                try network.optimizer.step(
                    network.arena, replicaSize: network.replicaSize,
                    learningRates: plans.map { $0.learningRate(at: index) })
                step += 1
                if step % configuration.logEvery == 0 || step == 1 {
                    let losses = try network.readReplicaStats()[.batchLoss]!
                    for r in 0..<k {
                        stepLosses[r].append((step, losses[r]))
                        watch(r, losses[r], step: step, batch: true)
                    }
                }
            }
            epochEnds.append(step)
            let n = Float(rowsSeen)
            let sums = try network.readReplicaStats()[.trainLossSum]!
            for r in 0..<k {
                epochLosses[r].append(sums[r] / n)
                watch(r, sums[r] / n, step: step, batch: false)
            }
            // Schedule-Free replicas are evaluated at x, as a single run is.
            if let validation = try data.validate(network, batchSize: batch) {
                for (r, result) in validation.enumerated() {
                    validationLosses[r].append(result.loss)
                    validationAccuracy[r] = result.accuracy
                }
            }
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
        let test = try data.test(network, batchSize: batch)
        let runs = (0..<k).map { r in
            var run = Run(
                learningRate: learningRates[r], finalTrainLoss: epochLosses[r].last ?? .nan,
                bestTrainLoss: epochLosses[r].filter(\.isFinite).min() ?? .nan,
                finalValidationLoss: validationLosses[r].last,
                bestValidationLoss: validationLosses[r].filter(\.isFinite).min(),
                finalValidationAccuracy: validationAccuracy[r], divergedAtStep: diverged[r],
                epochLosses: epochLosses[r],
                stepLosses: stepLosses[r])
            (run.testLoss, run.testAccuracy) = (test?[r].loss, test?[r].accuracy)
            run.divergenceReason = reasons[r]
            run.epochEndSteps = epochEnds
            return run
        }
        return Result(
            runs: runs, recommended: Self.recommendation(runs), seconds: seconds,
            samplesPerSecond: seconds > 0
                ? Double(step) * Double(min(batch, split.trainRows.count)) * Double(k) / seconds : 0)
    }

    /// Learning rates from a list `a,b,c` or a log range `lo:hi:n` (n values spaced evenly in log10 from lo to hi);
    /// exactly one of the two.
    ///
    /// ```swift
    /// try Sweep.learningRates(list: nil, logRange: "1e-3:1e-1:3")   // [0.001, 0.01, 0.1]
    /// ```
    ///
    /// - Parameters:
    ///   - list: Comma-separated learning rates, each finite and > 0; nil when `logRange` is given.
    ///   - logRange: `lo:hi:n` with 0 < lo < hi and 2 ≤ n ≤ 64; nil when `list` is given.
    /// - Returns: The learning rates.
    /// - Throws: `EtaError` `.usage` for a malformed value, or when both or neither are given.
    public static func learningRates(list: String?, logRange: String?) throws -> [Double] {
        switch (list, logRange) {
        case (let list?, nil):
            return try list.split(separator: ",").map {
                guard let value = Double($0.trimmingCharacters(in: .whitespaces)), value > 0, value.isFinite else {
                    throw EtaError(
                        .usage, "learning rate '\($0)' is not a positive number (a list is written 1e-4,1e-3,1e-2)")
                }
                return value
            }
        case (nil, let range?):
            let parts = range.split(separator: ":").map { Double($0) }
            guard parts.count == 3, let low = parts[0], let high = parts[1], let n = parts[2], low > 0, high > low,
                n >= 2, n == n.rounded(), n <= 64
            else {
                throw EtaError(
                    .usage, "log range '\(range)': expected lo:hi:n with 0 < lo < hi and 2 <= n <= 64, e.g. 1e-4:1:9")
            }
            return (0..<Int(n)).map { low * pow(high / low, Double($0) / (n - 1)) }
        case (nil, nil): throw EtaError(.usage, "give a list of learning rates a,b,c or a log range lo:hi:n")
        default: throw EtaError(.usage, "give either a list of learning rates or a log range, not both")
        }
    }
}

extension Sweep {
    /// Trains every learning rate of `learningRates`: side by side in one sweep when the model allows it, one run
    /// after another for models whose layers cannot yet hold several replicas (a GPT's LayerNorm, embeddings and
    /// attention), with the same outputs either way.
    ///
    /// - Parameters:
    ///   - configuration: What each run trains.
    ///   - learningRates: One finite learning rate > 0 per run.
    ///   - backend: The backend to train on.
    /// - Returns: Every run and the recommendation.
    /// - Throws: As ``init(configuration:learningRates:backend:)`` and ``run()``.
    public static func train(
        configuration: TrainingConfiguration, learningRates: [Double], backend: Backend
    ) throws -> Result {
        guard configuration.model.readsTokens, learningRates.count > 1 else {
            return try Sweep(configuration: configuration, learningRates: learningRates, backend: backend).run()
        }
        let results = try learningRates.map {
            try Sweep(configuration: configuration, learningRates: [$0], backend: backend).run()
        }
        let runs = results.flatMap(\.runs), seconds = results.reduce(0) { $0 + $1.seconds }
        let samples = results.reduce(0) { $0 + $1.samplesPerSecond * $1.seconds }
        return Result(
            runs: runs, recommended: recommendation(runs), seconds: seconds,
            samplesPerSecond: seconds > 0 ? samples / seconds : 0)
    }
}
