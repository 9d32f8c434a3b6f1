import Foundation

/// How a split scales the features before training (`--normalize`).
///
/// Each dataset has a default (``Dataset/normalization``): `pixels` for `idx:` and `cifar:` images, `standard` for
/// CSV files and the tabular built-ins; digits is scaled to [0, 1] when it loads and keeps `none`.
///
/// ```swift
/// let split = try DataSplit(dataset: mnist, validationFraction: 0.1, seed: 0, normalization: .standard)
/// ```
public enum Normalization: String, Sendable, CaseIterable {
    /// Per-feature standardisation with the training rows' mean and standard deviation (validation and test rows
    /// are scaled with the same statistics).
    case standard
    /// Each value divided by 255: 8-bit pixels to [0, 1].
    case pixels
    /// The values as loaded (`--normalize none`).
    case raw = "none"
}

extension Dataset {
    /// The shape of one sample read from `text`: `CxHxW` (e.g. `1x28x28`), `HxW` or a plain feature count, every
    /// dimension at least 1.
    ///
    /// ```swift
    /// try Dataset.parseShape("1x28x28")   // [1, 28, 28]
    /// ```
    ///
    /// - Parameter text: Up to three positive integers separated by `x`.
    /// - Returns: The dimensions, outermost first.
    /// - Throws: `EtaError` `.usage` when the text is not such a shape.
    public static func parseShape(_ text: String) throws -> [Int] {
        let parts = text.lowercased().split(separator: "x", omittingEmptySubsequences: false)
        let dimensions = parts.compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard (1...3).contains(parts.count), dimensions.count == parts.count,
            dimensions.allSatisfy({ (1...(1 << 24)).contains($0) })
        else {
            throw EtaError(
                .usage,
                "input shape '\(text)': expected CxHxW (channels x height x width, e.g. 1x28x28 or 3x32x32), each "
                    + "dimension an integer in 1...\(1 << 24)"
            )
        }
        return dimensions
    }

    /// `shape` as written on the command line: `1x28x28`.
    ///
    /// - Parameter shape: The dimensions.
    /// - Returns: The dimensions joined by `x`.
    public static func shapeText(_ shape: [Int]) -> String { shape.map(String.init).joined(separator: "x") }

    /// This dataset with each row's features read as a sample of `shape` (`--input-shape`): the values and their
    /// order are unchanged, only ``sampleShape`` is, so `csv:PATH` rows of 784 pixels become 1x28x28 images.
    ///
    /// ```swift
    /// let images = try Dataset.load("digits").reshaped(to: [1, 8, 8])
    /// ```
    ///
    /// - Parameter shape: The new sample shape; its product must equal ``featureCount``.
    /// - Returns: The same data with the new sample shape.
    /// - Throws: `EtaError` `.usage` when the shape's product differs from the feature count, naming both, or for a
    ///   text dataset, any shape but its own `[context]`.
    public func reshaped(to shape: [Int]) throws -> Dataset {
        if text != nil {
            guard shape == sampleShape else {
                throw EtaError(
                    .usage,
                    "input shape \(Self.shapeText(shape)) does not apply to the text dataset \(name): its samples are "
                        + "the gpt model's context of \(featureCount) characters")
            }
            return self
        }
        let (product, overflow) = shape.reduce((1, false)) { partial, size in
            let (value, over) = partial.0.multipliedReportingOverflow(by: size)
            return (value, partial.1 || over)
        }
        guard !shape.isEmpty, shape.allSatisfy({ $0 >= 1 }), !overflow, product == featureCount else {
            throw EtaError(
                .usage,
                "input shape \(Self.shapeText(shape)) holds \(overflow ? "too many" : String(product)) values per "
                    + "sample, but \(name) has \(featureCount) features per row (shape "
                    + "\(Self.shapeText(sampleShape))): C x H x W must equal the feature count"
            )
        }
        return Dataset(
            name: name, rows: rows, featureCount: featureCount, features: features, targets: targets, task: task,
            normalization: normalization, sampleShape: shape, testRowCount: testRowCount)
    }
}
