import CBLAS
import CEtaCPU
import EtaCore

extension CPUBackend {
    public func run(_ layer: LayerCommand) throws {
        switch layer {
        case .gemm(let g):
            guard g.m > 0, g.n > 0 else { return }
            for i in 0..<g.batch {
                cblas_sgemm(CblasRowMajor, g.transposeA ? CblasTrans : CblasNoTrans, g.transposeB ? CblasTrans : CblasNoTrans,
                            blasint(g.m), blasint(g.n), blasint(g.k), g.alpha,
                            pointer(g.a) + g.aOffset + i * g.strideA, blasint(g.lda), pointer(g.b) + g.bOffset + i * g.strideB, blasint(g.ldb),
                            g.beta, pointer(g.c) + g.cOffset + i * g.strideC, blasint(g.ldc))
            }
        case .biasActivationForward(let z, let zOffset, let bias, let biasOffset, let a, let aOffset, let rows, let cols, let activation,
                                    let replicas, let biasStride):
            for r in 0..<replicas {
                let block = r * rows * cols
                eta_bias_activation_forward(pointer(z) + zOffset + block, pointer(bias) + biasOffset + r * biasStride,
                                            pointer(a) + aOffset + block, rows, cols, activation.rawValue)
            }
        case .biasActivationBackward(let gradA, let gradAOffset, let z, let zOffset, let gradZ, let gradZOffset,
                                     let gradBias, let gradBiasOffset, let rows, let cols, let activation, let replicas, let biasStride):
            for r in 0..<replicas {
                let block = r * rows * cols
                eta_bias_activation_backward(pointer(gradA) + gradAOffset + block, pointer(z) + zOffset + block,
                                             pointer(gradZ) + gradZOffset + block, pointer(gradBias) + gradBiasOffset + r * biasStride,
                                             rows, cols, activation.rawValue)
            }
        case .loss(let l):
            let targets = pointer(l.targets) + l.targetsOffset
            for r in 0..<l.replicas {
                let block = r * l.rows * l.cols
                let input = pointer(l.input) + l.inputOffset + block
                let grad = pointer(l.grad) + block, loss = pointer(l.rowLoss) + r * l.rows, correct = pointer(l.rowCorrect) + r * l.rows
                switch l.kind {
                case .crossEntropy: eta_softmax_cross_entropy(input, targets, grad, loss, correct, l.rows, l.cols, l.scale)
                case .bce: eta_bce_with_logits(input, targets, grad, loss, correct, l.rows, l.scale)
                case .mse: eta_mse(input, targets, grad, loss, correct, l.rows, l.cols, l.scale)
                }
            }
        case .reduce(let r):
            for segment in 0..<r.segments {
                let sum = eta_sum(pointer(r.source) + r.sourceOffset + segment * r.count, r.count, r.squares ? 1 : 0)
                let destination = pointer(r.destination) + r.index + segment * r.destinationStride
                destination.pointee = (r.accumulate ? destination.pointee : 0) + r.scale * sum
            }
        }
    }
}
