import Foundation

/// A sweep spread over the ranks of a job: rank r trains the r-th of `size` contiguous slices of the learning rates
/// (each replica's run does not depend on the others, so the slices give the per-lr results of one sweep), and
/// ``gather(_:group:)`` joins the ranks' runs in the order of the learning rates.
extension Sweep {
    /// Rank `rank`'s slice of `learningRates` in a job of `size` ranks.
    ///
    /// - Parameters:
    ///   - learningRates: The sweep's learning rates.
    ///   - rank: The rank.
    ///   - size: The ranks in the job.
    /// - Returns: The rates this rank trains (a contiguous slice, in order).
    /// - Throws: `EtaError` `.usage` when there are fewer learning rates than ranks.
    public static func slice(_ learningRates: [Double], rank: Int, size: Int) throws -> ArraySlice<Double> {
        guard learningRates.count >= size else {
            throw EtaError(
                .usage,
                "a sweep over \(size) ranks needs at least \(size) learning rates (got \(learningRates.count)): "
                    + "give more rates or fewer ranks"
            )
        }
        let count = learningRates.count
        return learningRates[(count * rank / size)..<(count * (rank + 1) / size)]
    }

    /// Every rank's runs, in rank order (the order of the learning rates), on every rank; the recommendation is made
    /// again over all of them, the time is the slowest rank's and the throughput the ranks' sum.
    ///
    /// - Parameters:
    ///   - result: This rank's result.
    ///   - group: The ranks.
    /// - Returns: The joined result.
    /// - Throws: The transport's error, or `EtaError` `.software` for a result that does not decode.
    public static func gather(_ result: Result, group: ProcessGroup) throws -> Result {
        guard group.size > 1 else { return result }
        let encoder = JSONEncoder()
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        let own = [UInt8](try encoder.encode(result.runs.map(WireRun.init)))
        var runs: [Run] = []
        for root in 0..<group.size {
            var bytes = group.rank == root ? own : []
            try group.broadcast(&bytes, root: root)
            guard let decoded = try? decoder.decode([WireRun].self, from: Data(bytes)) else {
                throw EtaError(.software, "the sweep results of rank \(root) did not decode")
            }
            runs += decoded.map(\.run)
        }
        var totals = [result.seconds, result.samplesPerSecond]
        var slowest = [result.seconds]
        try group.allreduce(&totals, .sum)
        try group.allreduce(&slowest, .max)
        return Result(
            runs: runs, recommended: recommendation(runs), seconds: slowest[0], samplesPerSecond: totals[1])
    }

    /// The run with the lowest final validation loss (training loss without validation) among those that did not
    /// diverge; nil when every one did.
    static func recommendation(_ runs: [Run]) -> Int? {
        let candidates = runs.indices.filter {
            runs[$0].divergedAtStep == nil && (runs[$0].finalValidationLoss ?? runs[$0].finalTrainLoss).isFinite
        }
        return candidates.min {
            (runs[$0].finalValidationLoss ?? runs[$0].finalTrainLoss)
                < (runs[$1].finalValidationLoss ?? runs[$1].finalTrainLoss)
        }
    }

    /// A run as it travels between ranks.
    private struct WireRun: Codable {
        var learningRate: Double
        var finalTrainLoss, bestTrainLoss: Float
        var finalValidationLoss, bestValidationLoss, finalValidationAccuracy, testLoss, testAccuracy: Float?
        var divergedAtStep: Int?
        var divergenceReason: String?
        var epochLosses: [Float]
        var steps: [Int]
        var stepLosses: [Float]

        init(_ run: Run) {
            learningRate = run.learningRate
            (finalTrainLoss, bestTrainLoss) = (run.finalTrainLoss, run.bestTrainLoss)
            (finalValidationLoss, bestValidationLoss) = (run.finalValidationLoss, run.bestValidationLoss)
            finalValidationAccuracy = run.finalValidationAccuracy
            (testLoss, testAccuracy) = (run.testLoss, run.testAccuracy)
            divergedAtStep = run.divergedAtStep
            divergenceReason = run.divergenceReason
            epochLosses = run.epochLosses
            steps = run.stepLosses.map(\.step)
            stepLosses = run.stepLosses.map(\.loss)
        }

        var run: Run {
            var run = Run(
                learningRate: learningRate, finalTrainLoss: finalTrainLoss, bestTrainLoss: bestTrainLoss,
                finalValidationLoss: finalValidationLoss, bestValidationLoss: bestValidationLoss,
                finalValidationAccuracy: finalValidationAccuracy, divergedAtStep: divergedAtStep,
                epochLosses: epochLosses, stepLosses: Array(zip(steps, stepLosses)))
            (run.testLoss, run.testAccuracy) = (testLoss, testAccuracy)
            run.divergenceReason = divergenceReason
            return run
        }
    }
}
