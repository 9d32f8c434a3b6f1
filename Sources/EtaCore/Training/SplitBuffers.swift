/// A data split on the device, as the Trainer and a Sweep both hold it: the current epoch's shuffled training rows
/// (written once per epoch, not per step), the validation rows and the official test rows (each written once), with
/// the validation and test passes.
public final class SplitBuffers {
    /// The split whose rows these buffers hold.
    public let split: DataSplit
    /// The epoch's training rows in shuffled order: features [rows × d] and targets [rows × t].
    public let trainFeatures: DeviceBuffer
    /// The epoch's training targets in the same order, [rows × t].
    public let trainTargets: DeviceBuffer
    /// The validation rows; nil without a validation split.
    public let validation: (features: DeviceBuffer, targets: DeviceBuffer)?
    /// The official test rows (``DataSplit/testRows``); nil when the dataset has none.
    public let test: (features: DeviceBuffer, targets: DeviceBuffer)?
    private let backend: Backend

    /// Bytes of the device buffers holding the split.
    public var deviceBytes: Int {
        let buffers =
            [trainFeatures, trainTargets] + [validation, test].compactMap { $0 }.flatMap { [$0.features, $0.targets] }
        return buffers.reduce(0) { $0 + $1.count * MemoryLayout<Float>.size }
    }

    /// Allocates the buffers and writes the validation and test rows.
    ///
    /// - Parameters:
    ///   - split: The split.
    ///   - backend: The backend to allocate on.
    /// - Throws: `EtaError` `.usage` when the buffers exceed the device's memory, or the backend's error.
    public init(split: DataSplit, backend: Backend) throws {
        self.split = split
        self.backend = backend
        trainFeatures = try backend.makeBuffer(count: split.trainRows.count * split.dataset.featureCount)
        trainTargets = try backend.makeBuffer(count: split.trainRows.count * split.dataset.targetWidth)
        validation = try split.validationRows.isEmpty ? nil : Self.upload(split.validationSamples(), to: backend)
        test = try split.testRows.isEmpty ? nil : Self.upload(split.testSamples(), to: backend)
    }

    /// Writes samples once.
    private static func upload(
        _ samples: (features: [Float], targets: [Float]), to backend: Backend
    ) throws -> (features: DeviceBuffer, targets: DeviceBuffer) {
        let (x, y) = samples
        let features = try backend.makeBuffer(count: x.count), targets = try backend.makeBuffer(count: y.count)
        try backend.write(x, to: features)
        try backend.write(y, to: targets)
        return (features, targets)
    }

    /// Writes epoch `epoch`'s shuffled training rows (the split's seeded order), or a text dataset's windows of the
    /// epoch (``DataSplit/trainingSamples(epoch:)``).
    ///
    /// - Parameter epoch: The epoch, from 0.
    /// - Throws: The backend's error.
    public func load(epoch: Int) throws {
        let (x, y) = split.trainingSamples(epoch: epoch)
        try backend.write(x, to: trainFeatures)
        try backend.write(y, to: trainTargets)
    }

    /// One training step (forward, loss, backward; no update) on `rows` rows from row `first` of the epoch.
    ///
    /// - Parameters:
    ///   - network: The network to run.
    ///   - first: The first row, in the epoch's order.
    ///   - rows: Rows in the batch, at most the network's `maxBatch`.
    /// - Throws: The backend's error.
    public func trainingStep(_ network: Network, first: Int, rows: Int) throws {
        let d = split.dataset.featureCount, t = split.dataset.targetWidth
        try network.trainingStep(
            input: trainFeatures, inputOffset: first * d, targets: trainTargets, targetsOffset: first * t, rows: rows)
    }

    /// The validation pass: loss and correct counts of every replica summed into the network's validation stats, in
    /// batches of `batchSize` rows, with Schedule-Free evaluated at x and put back to y. Returns the per-row mean loss
    /// and accuracy of each replica (accuracy nil for regression), or nil without a validation split.
    ///
    /// - Parameters:
    ///   - network: The network to evaluate (its validation stats are reset).
    ///   - batchSize: Rows per forward pass, at most the network's `maxBatch`.
    /// - Returns: Each replica's mean loss and accuracy, or nil without validation rows.
    /// - Throws: The backend's error.
    public func validate(_ network: Network, batchSize: Int) throws -> [(loss: Float, accuracy: Float?)]? {
        guard let validation else { return nil }
        return try evaluate(network, validation, rows: split.validationRows.count, batchSize: batchSize)
    }

    /// The test pass, as ``validate(_:batchSize:)`` but over the official test rows (the network's validation stats
    /// hold its sums): each replica's mean loss and accuracy, or nil when the dataset has no test split.
    ///
    /// ```swift
    /// if let (loss, accuracy) = try data.test(network, batchSize: 256)?.first { print(loss, accuracy ?? .nan) }
    /// ```
    ///
    /// - Parameters:
    ///   - network: The network to evaluate (its validation stats are reset).
    ///   - batchSize: Rows per forward pass, at most the network's `maxBatch`.
    /// - Returns: Each replica's mean loss and accuracy (nil for regression), or nil without test rows.
    /// - Throws: The backend's error.
    public func test(_ network: Network, batchSize: Int) throws -> [(loss: Float, accuracy: Float?)]? {
        guard let test else { return nil }
        return try evaluate(network, test, rows: split.testRows.count, batchSize: batchSize)
    }

    private func evaluate(
        _ network: Network, _ buffers: (features: DeviceBuffer, targets: DeviceBuffer), rows: Int, batchSize: Int
    ) throws -> [(loss: Float, accuracy: Float?)] {
        let (features, targets) = buffers
        try network.optimizer.evaluationMode(network.arena)
        defer { try? network.optimizer.trainingMode(network.arena) }
        try network.resetStats([.validationLossSum, .validationCorrect])
        let d = split.dataset.featureCount, t = split.dataset.targetWidth
        var first = 0
        while first < rows {
            let count = min(batchSize, rows - first)
            try network.forward(input: features, inputOffset: first * d, rows: count)
            try network.lossAndGradient(
                targets: targets, targetsOffset: first * t, rows: count,
                lossSum: .validationLossSum, correct: .validationCorrect)
            first += count
        }
        let stats = try network.readReplicaStats()
        let n = Float(rows)
        return zip(stats[.validationLossSum]!, stats[.validationCorrect]!).map { loss, correct in
            (loss / n, network.loss != .mse ? correct / n : nil)
        }
    }
}
