import Foundation

/// When a sweep calls a replica diverged: the divergence guard's rules applied to every logged batch loss and every
/// epoch's mean loss, not only a non-finite loss (a run that climbs from 2.3 to 29 has diverged even though its
/// loss stays finite).
extension Sweep {
    /// A loss above this multiple of the replica's first logged loss is divergence (the LR range test's convention).
    public static let startFactor = 4.0

    /// One replica's watch over its losses.
    struct DivergenceWatch {
        /// The first logged loss.
        private var start: Float?
        /// The running average of the logged losses (EMA, β 0.9, as the guard keeps it).
        private var running: Double?

        /// Checks one loss: the rule that fired, in words, or nil.
        ///
        /// - Parameters:
        ///   - loss: A logged batch loss or an epoch's mean loss.
        ///   - spikeFactor: The guard's `spikeFactor` (a loss above it times the running average); nil: off.
        ///   - updatesAverage: Whether the loss joins the running average (batch losses do, epoch means do not).
        mutating func check(_ loss: Float, spikeFactor: Double?, updatesAverage: Bool = true) -> String? {
            guard loss.isFinite else { return "non-finite loss" }
            let first = start ?? loss
            if start == nil { start = loss }
            if Double(loss) > Sweep.startFactor * Double(first) && first > 0 {
                return
                    "loss \(Self.short(loss)) above \(Self.short(Sweep.startFactor)) × its start \(Self.short(first))"
            }
            if let factor = spikeFactor, let average = running, Double(loss) > factor * average {
                return "loss \(Self.short(loss)) above \(Self.short(factor)) × its running average "
                    + Self.short(Float(average))
            }
            if updatesAverage { running = running.map { 0.9 * $0 + 0.1 * Double(loss) } ?? Double(loss) }
            return nil
        }

        private static func short<T: BinaryFloatingPoint>(_ value: T) -> String {
            String(format: "%.4g", Double(value))
        }
    }
}
