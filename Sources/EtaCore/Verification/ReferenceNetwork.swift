extension Reference {
    /// Mean loss and its gradient (arena-shaped) of `architecture` at `parameters` on a batch, computed with the
    /// Reference's layer functions. In `Double` this is the oracle of the finite-difference gradient checks; in
    /// `Float` it is what the backends' training steps are compared with.
    ///
    /// - Parameters:
    ///   - architecture: The model.
    ///   - parameters: The whole arena.
    ///   - kind: The loss.
    ///   - inputs: The batch's features, [rows × inputs].
    ///   - targets: The batch's targets, `targetWidth` per row.
    ///   - rows: Rows of the batch.
    /// - Returns: The mean loss and its gradient with respect to every parameter (zero in the padding).
    public static func lossAndGradient<T: ReferenceReal>(
        architecture: ModelArchitecture, parameters: [T], loss kind: LossKind,
        inputs: [T], targets: [T], rows: Int
    ) -> (loss: T, gradient: [T]) {
        let layers = architecture.layers
        var activations: [[T]] = [inputs]
        var preActivations: [[T]] = []
        for (i, layer) in layers.enumerated() {
            let (weight, bias) = architecture.offsets(i)
            var z = [T](repeating: 0, count: rows * layer.outputs)
            gemm(
                transposeA: false, transposeB: true, m: rows, n: layer.outputs, k: layer.inputs, alpha: 1,
                a: activations[i], lda: layer.inputs, b: parameters, bOffset: weight, ldb: layer.inputs, beta: 0, c: &z,
                ldc: layer.outputs)
            var a = z
            biasActivationForward(
                z: &z, bias: Array(parameters[bias..<(bias + layer.outputs)]), a: &a, rows: rows,
                cols: layer.outputs, activation: layer.activation)
            preActivations.append(z)
            activations.append(a)
        }
        let outputs = layers.last!.outputs
        let result = self.loss(kind, input: activations.last!, targets: targets, rows: rows, cols: outputs)
        let total = result.rowLoss.reduce(0, +) / T(rows) / (kind == .mse ? T(outputs) : 1)
        var gradient = [T](repeating: 0, count: architecture.layout.count)
        var upstream = result.grad
        for i in stride(from: layers.count - 1, through: 0, by: -1) {
            let layer = layers[i]
            let (weight, bias) = architecture.offsets(i)
            var gradZ = upstream
            let gradBias = biasActivationBackward(
                gradA: upstream, z: preActivations[i], gradZ: &gradZ, rows: rows,
                cols: layer.outputs, activation: layer.activation)
            for c in 0..<layer.outputs { gradient[bias + c] = gradBias[c] }
            gemm(
                transposeA: true, transposeB: false, m: layer.outputs, n: layer.inputs, k: rows, alpha: 1,
                a: gradZ, lda: layer.outputs, b: activations[i], ldb: layer.inputs, beta: 0,
                c: &gradient, cOffset: weight, ldc: layer.inputs)
            if i > 0 {
                var next = [T](repeating: 0, count: rows * layer.inputs)
                gemm(
                    transposeA: false, transposeB: false, m: rows, n: layer.inputs, k: layer.outputs, alpha: 1,
                    a: gradZ, lda: layer.outputs, b: parameters, bOffset: weight, ldb: layer.inputs, beta: 0, c: &next,
                    ldc: layer.inputs)
                upstream = next
            }
        }
        return (total, gradient)
    }
}
