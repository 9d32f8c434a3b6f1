import CBLAS
import CEtaCPU
import EtaCore

extension CPUBackend {
    public func run(_ layer: LayerCommand) throws {
        switch layer {
        case .gemm(let g):
            guard g.m > 0, g.n > 0 else { return }
            cblas_sgemm(CblasRowMajor, g.transposeA ? CblasTrans : CblasNoTrans, g.transposeB ? CblasTrans : CblasNoTrans,
                        blasint(g.m), blasint(g.n), blasint(g.k), g.alpha,
                        pointer(g.a) + g.aOffset, blasint(g.lda), pointer(g.b) + g.bOffset, blasint(g.ldb),
                        g.beta, pointer(g.c) + g.cOffset, blasint(g.ldc))
        case .biasActivationForward(let z, let zOffset, let bias, let biasOffset, let a, let aOffset, let rows, let cols, let activation):
            eta_bias_activation_forward(pointer(z) + zOffset, pointer(bias) + biasOffset, pointer(a) + aOffset,
                                        rows, cols, activation.rawValue)
        case .biasActivationBackward(let gradA, let gradAOffset, let z, let zOffset, let gradZ, let gradZOffset,
                                     let gradBias, let gradBiasOffset, let rows, let cols, let activation):
            eta_bias_activation_backward(pointer(gradA) + gradAOffset, pointer(z) + zOffset, pointer(gradZ) + gradZOffset,
                                         pointer(gradBias) + gradBiasOffset, rows, cols, activation.rawValue)
        case .loss(let l):
            let input = pointer(l.input) + l.inputOffset, targets = pointer(l.targets) + l.targetsOffset
            let grad = pointer(l.grad), loss = pointer(l.rowLoss), correct = pointer(l.rowCorrect)
            switch l.kind {
            case .crossEntropy: eta_softmax_cross_entropy(input, targets, grad, loss, correct, l.rows, l.cols, l.scale)
            case .bce: eta_bce_with_logits(input, targets, grad, loss, correct, l.rows, l.scale)
            case .mse: eta_mse(input, targets, grad, loss, correct, l.rows, l.cols, l.scale)
            }
        case .reduce(let r):
            let sum = eta_sum(pointer(r.source) + r.sourceOffset, r.count, r.squares ? 1 : 0)
            let destination = pointer(r.destination) + r.index
            destination.pointee = (r.accumulate ? destination.pointee : 0) + r.scale * sum
        }
    }
}
