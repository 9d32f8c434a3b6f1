import CBLAS
import CEtaCPU
import Dispatch
import EtaBackend

extension CPUBackend {
    /// Runs `body` for each replica, on all cores when there are several.
    private func replicasInParallel(_ replicas: Int, _ body: (Int) -> Void) {
        if replicas == 1 { body(0) } else { concurrentPerform(replicas, body) }
    }

    public func run(_ layer: LayerCommand) throws {
        try timed(layer.kernelName) { try runLayer(layer) }
    }

    private func runLayer(_ layer: LayerCommand) throws {
        switch layer {
        case .gemm(let g):
            guard g.m > 0, g.n > 0 else { return }
            let (a, b, c) = (pointer(g.a), pointer(g.b), pointer(g.c))
            let blas = try OpenBLAS.shared.get()
            let multiply = { (i: Int) in
                blas.sgemm(
                    CblasRowMajor, g.transposeA ? CblasTrans : CblasNoTrans, g.transposeB ? CblasTrans : CblasNoTrans,
                    blasint(g.m), blasint(g.n), blasint(g.k), g.alpha,
                    a + g.aOffset + i * g.strideA, blasint(g.lda), b + g.bOffset + i * g.strideB, blasint(g.ldb),
                    g.beta, c + g.cOffset + i * g.strideC, blasint(g.ldc))
            }
            if g.batch == 1 {
                multiply(0)
            } else {
                // Replicas in parallel, one OpenBLAS thread each (its own threading would oversubscribe the cores).
                blas.setThreads(1)
                concurrentPerform(g.batch, multiply)
                blas.setThreads(Int32(threads))
            }
        case .biasActivation(let c):
            let (zp, ap) = (pointer(c.z.buffer) + c.z.offset, pointer(c.activations.buffer) + c.activations.offset)
            let bp = c.bias.map { pointer($0.buffer) + $0.offset }
            if c.pass == .forward {
                replicasInParallel(c.replicas) { r in
                    let block = r * c.rows * c.cols
                    eta_bias_activation_forward(
                        zp + block, bp.map { $0 + r * c.biasStride }, ap + block, c.rows, c.cols,
                        c.activation.rawValue)
                }
            } else {
                let gzp = pointer(c.gradZ!.buffer) + c.gradZ!.offset
                replicasInParallel(c.replicas) { r in
                    let block = r * c.rows * c.cols
                    eta_bias_activation_backward(
                        ap + block, zp + block, gzp + block, bp.map { $0 + r * c.biasStride }, c.rows, c.cols,
                        c.activation.rawValue, c.accumulate ? 1 : 0)
                }
            }
        case .patches, .pool, .transpose, .batchNorm, .layerNorm, .embedding, .attention, .dropout, .add:
            runDeep(layer)
        case .loss(let l):
            let targets = pointer(l.targets) + l.targetsOffset
            let (inputs, grads, losses, corrects) = (
                pointer(l.input), pointer(l.grad), pointer(l.rowLoss), pointer(l.rowCorrect)
            )
            replicasInParallel(l.replicas) { r in
                let block = r * l.rows * l.cols
                let input = inputs + l.inputOffset + block
                let grad = grads + block, loss = losses + r * l.rows, correct = corrects + r * l.rows
                switch l.kind {
                case .crossEntropy:
                    eta_softmax_cross_entropy(input, targets, grad, loss, correct, l.rows, l.cols, l.scale)
                case .bce: eta_bce_with_logits(input, targets, grad, loss, correct, l.rows, l.scale)
                case .mse: eta_mse(input, targets, grad, loss, correct, l.rows, l.cols, l.scale)
                }
            }
        case .clipByNorm(let gradients, let count, let stats, let normIndex, let maxNorm):
            eta_clip_by_norm(pointer(gradients), count, pointer(stats) + normIndex, maxNorm)
        case .clipByValue(let gradients, let count, let clip):
            eta_clip_by_value(pointer(gradients), count, clip)
        case .lerpToward(let target, let toward, let count, let weight):
            eta_lerp_toward(pointer(target), pointer(toward), count, weight)
        case .reduce(let r):
            for segment in 0..<r.segments {
                let sum = eta_sum(pointer(r.source) + r.sourceOffset + segment * r.count, r.count, r.squares ? 1 : 0)
                let destination = pointer(r.destination) + r.index + segment * r.destinationStride
                destination.pointee = (r.accumulate ? destination.pointee : 0) + r.scale * sum
            }
        }
    }
}
