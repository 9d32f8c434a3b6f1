/// Evaluating the parameters' moving average (`--ema`): the averaged weights take the parameters' place for the
/// validation pass, and the raw ones are put back (through the host, once per epoch: no second device copy).
extension Trainer {
    /// The validation loss and accuracy of the averaged parameters; nil without an average, before its first update
    /// or without a validation split.
    func validateAverage() throws -> (loss: Float, accuracy: Float?)? {
        guard let average, average.updates > 0, split.validationRows.count > 0 else { return nil }
        let raw = try network.arena.download(.parameters)
        try backend.run(
            .lerpToward(target: network.arena.parameters, toward: average.buffer, count: average.count, weight: 1))
        let result: (loss: Float, accuracy: Float?)?
        do {
            result = try data.validate(network, batchSize: configuration.batchSize)?.first.map {
                ($0.loss, $0.accuracy)
            }
        } catch {
            try network.arena.upload(raw, to: .parameters)
            throw error
        }
        try network.arena.upload(raw, to: .parameters)
        return result
    }
}
