import Foundation

/// The LR range test (Smith 2015, "Cyclical Learning Rates for Training Neural Networks"; fastai and
/// Lightning's `lr_find`): train for `iterations` mini-batches while the learning rate grows from `startLR` to
/// `endLR`, smooth the loss, stop when it diverges, and suggest a learning rate.
///
/// ```swift
/// let trainer = try Trainer(configuration: TrainingConfiguration(), backend: CPUBackend())
/// let result = try LRFinder(startLR: 1e-6, endLR: 1).run(trainer)
/// result.suggestions.first { $0.name == "valley" }?.learningRate
/// ```
public struct LRFinder: Sendable {
    /// How the lr grows from `startLR` to `endLR`: evenly in log space (exponential) or evenly (linear).
    public enum Growth: String, Sendable, CaseIterable { case exponential, linear }

    /// Why the test stopped.
    public enum StopReason: String, Sendable {
        /// Every iteration ran; the loss diverged.
        case completed, diverged
        case nonFinite = "non_finite"
        case dataExhausted = "data_exhausted"
    }

    /// One iteration of the test.
    public struct Point: Sendable {
        /// The iteration, from 0.
        public let iteration: Int
        /// The learning rate it used.
        public let learningRate: Double
        /// The batch's loss.
        public let loss: Double
        /// The bias-corrected smoothed loss (NaN for a non-finite loss).
        public let smoothed: Double
    }

    /// A suggested learning rate, or why there is none.
    public struct Suggestion: Sendable {
        /// `valley`, `steep` or `minimum`.
        public let name: String
        /// The suggestion; nil when there is none.
        public let learningRate: Double?
        /// Why there is no suggestion; nil when there is one.
        public let reason: String?
        /// The suggestion's position in the curve after trimming; nil when there is none.
        public let index: Int?
    }

    /// The curve, why it stopped, and the suggestions.
    public struct Result: Sendable {
        /// Every iteration run, in order.
        public let points: [Point]
        /// Why the test stopped.
        public let stopReason: StopReason
        /// `valley`, `steep` and `minimum`, in that order.
        public let suggestions: [Suggestion]
    }

    /// The first iteration's learning rate, > 0.
    public var startLR = 1e-7
    /// The last iteration's learning rate, > `startLR`.
    public var endLR = 10.0
    /// Iterations, at least 2.
    public var iterations = 100
    /// How the learning rate grows.
    public var growth = Growth.exponential
    /// EMA factor of the bias-corrected smoothing.
    public var beta = 0.98
    /// Stop when the smoothed loss exceeds the best by (divergeFactor − 1)·|best| (divergeFactor × best for
    /// positive losses).
    public var divergeFactor = 4.0
    /// Passes over the training data at most; running out stops with `data_exhausted`.
    public var maxEpochs = 10

    /// - Parameters:
    ///   - startLR: The first iteration's learning rate, > 0.
    ///   - endLR: The last iteration's learning rate, > `startLR`.
    ///   - iterations: Iterations, in 2...``RunLimits/steps``.
    ///   - growth: How the learning rate grows.
    ///   - beta: The smoothing's EMA factor, in [0, 1).
    ///   - divergeFactor: The divergence threshold, > 1.
    ///   - maxEpochs: Passes over the training data at most, at least 1.
    public init(
        startLR: Double = 1e-7, endLR: Double = 10, iterations: Int = 100, growth: Growth = .exponential,
        beta: Double = 0.98, divergeFactor: Double = 4, maxEpochs: Int = 10
    ) {
        self.startLR = startLR
        self.endLR = endLR
        self.iterations = iterations
        self.growth = growth
        self.beta = beta
        self.divergeFactor = divergeFactor
        self.maxEpochs = maxEpochs
    }

    /// Checks the settings; throws a usage error naming the bad one.
    ///
    /// - Throws: `EtaError` `.usage` naming the setting out of range.
    public func validate() throws {
        guard startLR > 0, endLR > startLR, startLR.isFinite, endLR.isFinite else {
            throw EtaError(.usage, "the lr range needs 0 < start lr < end lr, both finite (got \(startLR), \(endLR))")
        }
        try RunLimits.check(iterations, in: 2...RunLimits.steps, option: "iterations")
        guard (0..<1).contains(beta) else { throw EtaError(.usage, "beta must be in [0, 1) (got \(beta))") }
        guard divergeFactor > 1 else {
            throw EtaError(.usage, "the divergence factor must be > 1 (got \(divergeFactor))")
        }
        guard maxEpochs >= 1 else { throw EtaError(.usage, "max epochs must be >= 1 (got \(maxEpochs))") }
    }

    /// The learning rate of iteration i (0-based): both ends included.
    ///
    /// - Parameter i: The iteration, in 0..<iterations.
    /// - Returns: The learning rate.
    public func learningRate(at i: Int) -> Double {
        let fraction = Double(i) / Double(iterations - 1)
        return growth == .exponential
            ? startLR * pow(endLR / startLR, fraction) : startLR + (endLR - startLR) * fraction
    }

    /// Runs the test on `trainer`'s model and data, then restores its parameters, optimizer state and position
    /// exactly, so a training run can follow.
    ///
    /// - Parameters:
    ///   - trainer: The trainer whose model, optimizer and data to use.
    ///   - onPoint: Called with every point whose loss is finite, as it is measured.
    /// - Returns: The curve, why it stopped, and the suggestions.
    /// - Throws: `EtaError` `.usage` for invalid settings; the backend's error; or what `onPoint` throws.
    public func run(_ trainer: Trainer, onPoint: (Point) throws -> Void = { _ in }) throws -> Result {
        try validate()
        let snapshot = try TrainerSnapshot(trainer)
        defer { try? snapshot.restore(into: trainer) }
        var points: [Point] = []
        var average = 0.0, best = Double.infinity
        var stop = StopReason.completed
        let batches = trainer.batches(epochs: maxEpochs)
        let iterator = batches.makeIterator()
        for i in 0..<iterations {
            guard let batch = iterator.next() else { stop = .dataExhausted; break }
            let lr = learningRate(at: i)
            let loss = Double(try trainer.trainStep(batch, learningRate: lr))
            guard loss.isFinite else {
                points.append(Point(iteration: i, learningRate: lr, loss: loss, smoothed: .nan))
                stop = .nonFinite
                break
            }
            average = beta * average + (1 - beta) * loss
            let smoothed = average / (1 - pow(beta, Double(i + 1)))
            let point = Point(iteration: i, learningRate: lr, loss: loss, smoothed: smoothed)
            points.append(point)
            try onPoint(point)
            best = min(best, smoothed)
            if Self.diverged(smoothed: smoothed, best: best, factor: divergeFactor) { stop = .diverged; break }
        }
        return Result(points: points, stopReason: stop, suggestions: Self.suggest(points))
    }

    /// The divergence rule: smoothed − best > (factor − 1)·|best| (with a 1e-8 floor), which is
    /// `smoothed > factor·best` for positive losses and still works for losses that reach zero or go negative.
    ///
    /// - Parameters:
    ///   - smoothed: The current smoothed loss.
    ///   - best: The lowest smoothed loss so far.
    ///   - factor: The divergence factor, > 1.
    /// - Returns: Whether the test should stop.
    public static func diverged(smoothed: Double, best: Double, factor: Double) -> Bool {
        smoothed - best > (factor - 1) * max(abs(best), 1e-8)
    }

    /// Minimum points left after trimming for any suggestion.
    public static let minimumPoints = 5

    /// Suggestions from the smoothed curve: the first 10% and last 5 points are trimmed (warm-up noise and
    /// the divergence tail) and non-finite values dropped.
    ///
    /// - Parameter points: The test's curve.
    /// - Returns: `valley`, `steep` and `minimum`, each with a learning rate or the reason there is none.
    public static func suggest(_ points: [Point]) -> [Suggestion] {
        let finite = points.filter { $0.smoothed.isFinite }
        let head = finite.count / 10, tail = min(5, max(0, finite.count - head - minimumPoints))
        let kept = Array(finite.dropFirst(head).dropLast(tail))
        guard kept.count >= minimumPoints else {
            let why =
                "too few points (\(kept.count) after trimming \(head) at the start and \(tail) at the end of "
                + "\(finite.count) finite); need \(minimumPoints): run more iterations, lower the start lr or "
                + "raise the divergence factor"
            return ["valley", "steep", "minimum"].map {
                Suggestion(name: $0, learningRate: nil, reason: why, index: nil)
            }
        }
        let losses = kept.map(\.smoothed), lrs = kept.map(\.learningRate)
        return [valley(lrs, losses), steep(lrs, losses), minimum(lrs, losses)]
    }

    /// fastai's `valley`: the longest decreasing subsequence, then a point halfway down it (1/3 + 1/6 in).
    static func valley(_ lrs: [Double], _ losses: [Double]) -> Suggestion {
        let n = losses.count
        var lengths = [Int](repeating: 1, count: n)
        var maxStart = 0, maxEnd = 0
        for i in 1..<n {
            for j in 0..<i where losses[i] < losses[j] && lengths[i] < lengths[j] + 1 { lengths[i] = lengths[j] + 1 }
            if lengths[maxEnd] < lengths[i] {
                maxEnd = i
                maxStart = maxEnd - lengths[maxEnd]
            }
        }
        guard maxEnd > 0 else {
            return Suggestion(
                name: "valley", learningRate: nil, reason: "the smoothed loss never decreased over the range",
                index: nil)
        }
        let sections = Double(maxEnd - maxStart) / 3
        let index = min(n - 1, max(0, maxStart + Int(sections) + Int(sections / 2)))
        return Suggestion(name: "valley", learningRate: lrs[index], reason: nil, index: index)
    }

    /// The steepest descent of the smoothed loss against log10(lr) (central differences with the real spacing).
    static func steep(_ lrs: [Double], _ losses: [Double]) -> Suggestion {
        let x = lrs.map { log10($0) }
        var slopes = [Double](repeating: 0, count: losses.count)
        for i in losses.indices {
            let (a, b) = (max(0, i - 1), min(losses.count - 1, i + 1))
            slopes[i] = x[b] == x[a] ? 0 : (losses[b] - losses[a]) / (x[b] - x[a])
        }
        guard let index = slopes.indices.min(by: { slopes[$0] < slopes[$1] }), slopes[index] < 0 else {
            return Suggestion(
                name: "steep", learningRate: nil, reason: "the smoothed loss never falls as the lr grows", index: nil)
        }
        return Suggestion(name: "steep", learningRate: lrs[index], reason: nil, index: index)
    }

    /// One tenth of the lr at the smoothed loss's minimum.
    static func minimum(_ lrs: [Double], _ losses: [Double]) -> Suggestion {
        let index = losses.indices.min { losses[$0] < losses[$1] }!
        return Suggestion(name: "minimum", learningRate: lrs[index] / 10, reason: nil, index: index)
    }
}
