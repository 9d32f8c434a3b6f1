/// A seeded train/validation split with the features normalised (standardised with the training rows' statistics
/// only, scaled from pixels, or left as loaded), and the per-epoch shuffled order. A dataset's official test rows
/// stay out of both parts: they are ``testRows``.
///
/// ```swift
/// let split = try DataSplit(dataset: digits, validationFraction: 0.2, seed: 0)
/// let order = split.epochOrder(epoch: 3)   // a permutation of split.trainRows, the same for every run with seed 0
/// split.testRows                           // []: digits has no official test split
/// ```
///
/// A text dataset (``Dataset/text``) is split by its characters instead: each epoch trains on
/// ⌊training characters / context⌋ windows of `context + 1` characters at seeded random starts in the training part
/// (``trainingWindowStarts(epoch:)``, a pure function of the seed and the epoch, so a resumed run sees the same
/// windows), and validation is a fixed set of `validationWindows` windows drawn once from the validation part
/// (``validationWindowStarts``). ``trainRows`` and ``validationRows`` then number the windows (`0..<count`).
///
/// ```swift
/// let text = try DataSplit(dataset: Dataset.load("shakespeare", context: 128), validationFraction: 0, seed: 0,
///                          validationWindows: 50 * 32)
/// let (inputs, targets) = text.trainingSamples(epoch: 0)   // [windows × 128] ids, and the next id of each
/// ```
public struct DataSplit: Sendable {
    /// The dataset split.
    public let dataset: Dataset
    /// The seed of the split and of every epoch's order.
    public let seed: UInt64
    /// Dataset rows used for training, in a fixed order.
    public let trainRows: [Int]
    /// Dataset rows held out for validation (from the rows before the official test rows).
    public let validationRows: [Int]
    /// The dataset's official test rows (its last ``Dataset/testRowCount`` rows), in order: never trained or
    /// validated on; empty when the dataset has none.
    public let testRows: [Int]
    /// How the features were scaled.
    public let normalization: Normalization
    /// Every row's features after ``normalization``.
    public let features: [Float]
    /// Per-feature mean and standard deviation of the training rows (empty without standardisation).
    public let mean: [Float]
    /// Per-feature standard deviation of the training rows (1 for a constant feature; empty without standardisation).
    public let standardDeviation: [Float]
    /// Text datasets: the starts of the validation windows in the validation part, drawn once from the seed; empty
    /// for other datasets.
    public let validationWindowStarts: [Int]

    /// Validation windows of a text dataset when the caller does not say: 50 batches of 64.
    public static let defaultValidationWindows = 50 * 64

    /// - Parameters:
    ///   - dataset: The dataset to split.
    ///   - validationFraction: The share of rows held out, in [0, 1) (rounded to whole rows).
    ///   - seed: The seed of the split and of the epoch orders.
    ///   - normalization: How to scale the features; nil: the dataset's default (``Dataset/normalization``).
    ///   - validationWindows: Text datasets: how many validation windows (`--val-batches` × the batch size; 0: no
    ///     validation); nil: ``defaultValidationWindows``. Other datasets ignore it.
    /// - Throws: `EtaError` `.usage` for a fraction outside [0, 1) or one that leaves no training rows, a negative
    ///   window count, or a normalization other than `none` for text.
    public init(
        dataset: Dataset, validationFraction: Double, seed: UInt64, normalization: Normalization? = nil,
        validationWindows: Int? = nil
    ) throws {
        guard (0..<1).contains(validationFraction) else {
            throw EtaError(.usage, "the validation fraction must be in [0, 1) (got \(validationFraction))")
        }
        self.dataset = dataset
        self.seed = seed
        if let text = dataset.text {
            guard normalization == nil || normalization == .raw else {
                throw EtaError(
                    .usage,
                    "--normalize \(normalization!.rawValue) does not apply to the text dataset \(dataset.name): its "
                        + "samples are token ids")
            }
            let count = validationWindows ?? Self.defaultValidationWindows
            guard count >= 0 else { throw EtaError(.usage, "validation windows must be >= 0 (got \(count))") }
            trainRows = Array(0..<dataset.rows)
            validationRows = Array(0..<count)
            testRows = []
            self.normalization = .raw
            features = []
            mean = []
            standardDeviation = []
            var random = SplitMix64(seed: seed ^ 0x7E47_0000_7A11_D000)
            validationWindowStarts = TextCorpus.windowStarts(
                count: count, length: text.validationIDs.count, context: dataset.featureCount, random: &random)
            return
        }
        validationWindowStarts = []
        var random = SplitMix64(seed: seed ^ 0x5_9_1_1_7)
        let available = dataset.trainingRowCount
        let permutation = Self.shuffled(Array(0..<available), &random)
        let validationCount = Int((Double(available) * validationFraction).rounded())
        validationRows = Array(permutation.prefix(validationCount))
        trainRows = Array(permutation.dropFirst(validationCount))
        testRows = Array(available..<dataset.rows)
        guard !trainRows.isEmpty else {
            throw EtaError(
                .usage,
                "a validation fraction of \(validationFraction) leaves no training rows out of \(available)"
                    + (dataset.testRowCount > 0 ? " (the \(dataset.testRowCount) test rows are never trained on)" : ""))
        }
        let d = dataset.featureCount
        self.normalization = normalization ?? dataset.normalization
        guard self.normalization == .standard else {
            // Pixels: bytes to [0, 1], each value divided as the loaders of earlier releases did.
            features = self.normalization == .pixels ? dataset.features.map { $0 / 255 } : dataset.features
            mean = []
            standardDeviation = []
            return
        }
        var sum = [Double](repeating: 0, count: d), squares = sum
        for row in trainRows {
            for j in 0..<d {
                let x = Double(dataset.features[row * d + j])
                sum[j] += x
                squares[j] += x * x
            }
        }
        let n = Double(trainRows.count)
        mean = sum.map { Float($0 / n) }
        standardDeviation = (0..<d).map { j in
            let variance = max(0, squares[j] / n - (sum[j] / n) * (sum[j] / n))
            return variance > 1e-12 ? Float(variance.squareRoot()) : 1
        }
        var scaled = dataset.features
        for row in 0..<dataset.rows {
            for j in 0..<d { scaled[row * d + j] = (scaled[row * d + j] - mean[j]) / standardDeviation[j] }
        }
        features = scaled
    }

    /// The training rows in the shuffled order of `epoch` (0-based), a pure function of the seed and epoch.
    ///
    /// - Parameter epoch: The epoch, from 0.
    /// - Returns: A permutation of ``trainRows``.
    public func epochOrder(epoch: Int) -> [Int] {
        var random = SplitMix64(seed: seed &+ 0x9E37_79B9_7F4A_7C15 &* UInt64(epoch + 1))
        return Self.shuffled(trainRows, &random)
    }

    /// Text datasets: the starts of epoch `epoch`'s training windows in the training part, ⌊training characters /
    /// context⌋ of them, uniform over every start whose window of `context + 1` characters fits; a pure function of the
    /// seed and the epoch. Empty for other datasets.
    ///
    /// - Parameter epoch: The epoch, from 0.
    /// - Returns: One start per row of ``trainRows``.
    public func trainingWindowStarts(epoch: Int) -> [Int] {
        guard let text = dataset.text else { return [] }
        var random = SplitMix64(seed: (seed ^ 0x7E47_0000_0000_0001) &+ 0x9E37_79B9_7F4A_7C15 &* UInt64(epoch + 1))
        return TextCorpus.windowStarts(
            count: trainRows.count, length: text.trainingIDs.count, context: dataset.featureCount, random: &random)
    }

    /// Epoch `epoch`'s training samples in order, row-major: the rows of ``epochOrder(epoch:)``, or for a text
    /// dataset the windows at ``trainingWindowStarts(epoch:)`` (input ids, and the next id at each position).
    ///
    /// - Parameter epoch: The epoch, from 0.
    /// - Returns: Features `[trainRows × featureCount]` and targets `[trainRows × targetWidth]`.
    public func trainingSamples(epoch: Int) -> (features: [Float], targets: [Float]) {
        guard let text = dataset.text else { return gather(epochOrder(epoch: epoch)) }
        return text.windows(.training, starts: trainingWindowStarts(epoch: epoch), context: dataset.featureCount)
    }

    /// The validation samples, row-major: the ``validationRows``, or a text dataset's fixed validation windows.
    ///
    /// - Returns: Features `[validationRows × featureCount]` and targets `[validationRows × targetWidth]`.
    public func validationSamples() -> (features: [Float], targets: [Float]) {
        guard let text = dataset.text else { return gather(validationRows) }
        return text.windows(.validation, starts: validationWindowStarts, context: dataset.featureCount)
    }

    /// The official test samples (``testRows``), row-major; empty for text datasets.
    ///
    /// - Returns: Features `[testRows × featureCount]` and targets `[testRows × targetWidth]`.
    public func testSamples() -> (features: [Float], targets: [Float]) { gather(testRows) }

    /// Features and targets of `rows`, in that order, row-major (table and image datasets; a text dataset's rows
    /// are windows: see ``trainingSamples(epoch:)``).
    ///
    /// - Parameter rows: Dataset row indices.
    /// - Returns: Their standardised features ([rows × featureCount]) and targets ([rows × targetWidth]).
    public func gather(_ rows: [Int]) -> (features: [Float], targets: [Float]) {
        let d = dataset.featureCount, t = dataset.targetWidth
        var x = [Float](), y = [Float]()
        x.reserveCapacity(rows.count * d)
        y.reserveCapacity(rows.count * t)
        for row in rows {
            x.append(contentsOf: features[(row * d)..<((row + 1) * d)])
            y.append(contentsOf: dataset.targets[(row * t)..<((row + 1) * t)])
        }
        return (x, y)
    }

    static func shuffled(_ values: [Int], _ random: inout SplitMix64) -> [Int] {
        var result = values
        guard result.count > 1 else { return result }
        for i in stride(from: result.count - 1, to: 0, by: -1) {
            let j = Int(random.next() % UInt64(i + 1))
            result.swapAt(i, j)
        }
        return result
    }
}
