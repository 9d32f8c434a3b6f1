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
            // OpenBLAS's thread count is process-wide: GEMMs of backends used from several threads at once take turns,
            // so none runs while another batch has set it to 1.
            OpenBLAS.lock.withLock {
                if g.batch == 1 {
                    multiply(0)
                } else {
                    // Batch members in parallel, one OpenBLAS thread each (its own threading would oversubscribe).
                    blas.setThreads(1)
                    concurrentPerform(g.batch, multiply)
                    blas.setThreads(Int32(threads))
                }
            }
        case .biasActivation(let c): runBiasActivation(c)
        case .patches, .pool, .transpose, .batchNorm, .layerNorm, .embedding, .heads, .causalSoftmax, .dropout, .add,
            .tensorUpdate:
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

    /// Rows of one block of the bias gradient's column sums: each block sums its rows in order, and the blocks' sums
    /// are added in block order, so the result does not depend on the thread count (and a batch of up to this many
    /// rows sums exactly as one pass over the rows).
    static let biasBlockRows = 2048

    private func runBiasActivation(_ c: BiasActivationCommand) {
        let (zp, ap) = (pointer(c.z.buffer) + c.z.offset, pointer(c.activations.buffer) + c.activations.offset)
        let bp = c.bias.map { pointer($0.buffer) + $0.offset }
        let blocks = (c.rows + Self.biasBlockRows - 1) / Self.biasBlockRows
        let tasks = c.replicas * blocks
        func rows(_ block: Int) -> (first: Int, count: Int) {
            let first = block * Self.biasBlockRows
            return (first, min(Self.biasBlockRows, c.rows - first))
        }
        let parallel = { (body: (Int) -> Void) in
            if tasks == 1 || c.rows * c.cols < Self.parallelThreshold {
                for t in 0..<tasks { body(t) }
            } else {
                concurrentPerform(tasks, body)
            }
        }
        if c.pass == .forward {
            parallel { task in
                let (r, (first, count)) = (task / blocks, rows(task % blocks))
                let at = r * c.rows * c.cols + first * c.cols
                eta_bias_activation_forward(
                    zp + at, bp.map { $0 + r * c.biasStride }, ap + at, count, c.cols, c.activation.rawValue)
            }
            return
        }
        let gzp = pointer(c.gradZ!.buffer) + c.gradZ!.offset
        if blocks == 1 || bp == nil {
            parallel { task in
                let (r, (first, count)) = (task / blocks, rows(task % blocks))
                let at = r * c.rows * c.cols + first * c.cols
                eta_bias_activation_backward(
                    ap + at, zp + at, gzp + at, bp.map { $0 + r * c.biasStride }, count, c.cols,
                    c.activation.rawValue, c.accumulate ? 1 : 0)
            }
            return
        }
        // Per-call scratch (on the stack for the sizes seen: blocks × columns floats), so a backend shared by
        // concurrent callers keeps no state between operations.
        withUnsafeTemporaryAllocation(of: Float.self, capacity: tasks * c.cols) { scratch in
            let partial = scratch.baseAddress!
            parallel { task in
                let (r, (first, count)) = (task / blocks, rows(task % blocks))
                let at = r * c.rows * c.cols + first * c.cols
                eta_bias_activation_backward(
                    ap + at, zp + at, gzp + at, partial + task * c.cols, count, c.cols, c.activation.rawValue, 0)
            }
            for r in 0..<c.replicas {
                let bias = bp! + r * c.biasStride
                for column in 0..<c.cols {
                    var sum = partial[r * blocks * c.cols + column]
                    for block in 1..<blocks { sum += partial[(r * blocks + block) * c.cols + column] }
                    bias[column] = c.accumulate ? bias[column] + sum : sum
                }
            }
        }
    }
}
