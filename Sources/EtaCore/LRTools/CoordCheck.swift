import Foundation

/// The `mup` package's coordinate check: train the same model at several widths for a few steps and record every
/// layer's mean absolute activation at each step's forward pass. Under μP the scales stay flat as width grows; under
/// the standard parametrization with a width-independent lr some grow with width after the first update.
///
/// ```swift
/// var configuration = TrainingConfiguration()
/// configuration.model = try ModelSpec(parsing: "mlp:hidden=64/64")
/// configuration.model.parametrization = .maximalUpdate(baseWidth: 64)
/// let records = try CoordCheck.run(configuration: configuration, widths: [64, 256, 1024], steps: 4, seeds: 2,
///                                  backend: CPUBackend())
/// ```
public enum CoordCheck {
    /// One layer's activation scale at one step and width, averaged over the seeds.
    public struct Record: Sendable {
        /// The model's width.
        public let width: Int
        /// The step whose forward pass produced it, from 1 (step 1: the initial weights).
        public let step: Int
        /// The node's name.
        public let layer: String
        /// Mean |activation| over the batch, averaged over the seeds.
        public let meanAbsolute: Double
    }

    /// Runs the check.
    ///
    /// - Parameters:
    ///   - configuration: The run at the model's own width (its parametrization applies at every width).
    ///   - widths: The widths to compare (``ModelSpec/scaled(toWidth:)``).
    ///   - steps: Optimizer steps per run, at least 1.
    ///   - seeds: Runs per width (seed, seed + 1, …) whose scales are averaged.
    ///   - backend: The backend to train on.
    /// - Returns: One record per width, step and layer.
    /// - Throws: `EtaError` `.usage` for a model without a width or a width it cannot scale to, or as ``Trainer``.
    public static func run(
        configuration: TrainingConfiguration, widths: [Int], steps: Int, seeds: Int, backend: Backend
    ) throws -> [Record] {
        guard steps >= 1, seeds >= 1, !widths.isEmpty else {
            throw EtaError(.usage, "a coordinate check needs widths, at least one step and at least one seed")
        }
        var records: [Record] = []
        for width in widths {
            var sums: [String: [Double]] = [:]
            var order: [String] = []
            for seed in 0..<seeds {
                var atWidth = configuration
                atWidth.model = try configuration.model.scaled(toWidth: width)
                atWidth.model.parametrization = configuration.model.parametrization
                atWidth.seed = configuration.seed &+ UInt64(seed)
                atWidth.accumulationSteps = 1
                let trainer = try Trainer(configuration: atWidth, backend: backend)
                for (index, batch) in trainer.batches(epochs: Int(Int32.max)).prefix(steps).enumerated() {
                    _ = try trainer.trainStep(batch, learningRate: trainer.learningRate(step: index + 1))
                    for (layer, scale) in try trainer.network.activationScales(rows: batch.rows) {
                        if sums[layer] == nil {
                            (sums[layer], order) = ([Double](repeating: 0, count: steps), order + [layer])
                        }
                        sums[layer]![index] += scale / Double(seeds)
                    }
                }
            }
            for step in 0..<steps {
                for layer in order {
                    records.append(Record(width: width, step: step + 1, layer: layer, meanAbsolute: sums[layer]![step]))
                }
            }
        }
        return records
    }

    /// Per layer, the slope of log(scale) against log(width) at `step` (least squares): about 0 when the scale does
    /// not depend on width, 0.5 or 1 when it grows like √width or width.
    ///
    /// - Parameters:
    ///   - records: A check's records.
    ///   - step: The step.
    /// - Returns: (layer, slope) in the records' layer order.
    public static func slopes(_ records: [Record], step: Int) -> [(layer: String, slope: Double)] {
        var layers: [String] = []
        for record in records where record.step == step && !layers.contains(record.layer) {
            layers.append(record.layer)
        }
        return layers.map { layer in
            let points = records.filter { $0.step == step && $0.layer == layer && $0.meanAbsolute > 0 }.map {
                (log(Double($0.width)), log($0.meanAbsolute))
            }
            guard points.count >= 2 else { return (layer, 0) }
            let mx = points.map(\.0).reduce(0, +) / Double(points.count)
            let my = points.map(\.1).reduce(0, +) / Double(points.count)
            let sxx = points.reduce(0.0) { $0 + ($1.0 - mx) * ($1.0 - mx) }
            let sxy = points.reduce(0.0) { $0 + ($1.0 - mx) * ($1.1 - my) }
            return (layer, sxx > 0 ? sxy / sxx : 0)
        }
    }
}
