import EtaBackend
import EtaCL
import EtaSupport

/// The training-step kernels of `Kernels/layers.cl`, `losses.cl` and `reduce.cl`, and a scratch buffer for
/// the reductions' partial sums.
struct LayerKernels {
    let forward: Kernel
    let backward: Kernel
    let crossEntropy: Kernel
    let bce: Kernel
    let mse: Kernel
    let reducePartial: Kernel
    let reduceFinish: Kernel
    let reduceSegments: Kernel
    /// The reductions' work-group size (`REDUCE_LOCAL`, compiled into `Kernels/reduce.cl`): a power of two.
    let reduceLocal: Int
    let clipByNorm: Kernel
    let clipByValue: Kernel
    let partials: Buffer

    static let reduceGroups = 64
    /// Sums up to this length use one work-group (`reduce_segments` with one segment).
    static let singleGroupReduceLimit = 1 << 16
}

extension OpenCLBackend {
    public func run(_ layer: LayerCommand) throws {
        launchLock.lock()
        defer { launchLock.unlock() }
        let k = layerKernels
        switch layer {
        case .gemm(let g) where g.batch > 1:
            let event = try CLBlast.sgemmStridedBatched(
                queue: context.queue, transposeA: g.transposeA, transposeB: g.transposeB,
                m: g.m, n: g.n, k: g.k, alpha: g.alpha,
                a: device(g.a), aOffset: g.aOffset, lda: g.lda, strideA: g.strideA,
                b: device(g.b), bOffset: g.bOffset, ldb: g.ldb, strideB: g.strideB, beta: g.beta,
                c: device(g.c), cOffset: g.cOffset, ldc: g.ldc, strideC: g.strideC, batch: g.batch,
                withEvent: tracedEvents != nil)
            LaunchClock.noteLaunch()  // after: CLBlast builds its program inside the call
            if let event { tracedEvents?.append((layer.kernelName, event)) }
        case .gemm(let g):
            // CLBlast's indirect GEMM needs scratch memory: grow one buffer to the largest size seen, so a
            // training step allocates nothing after its first.
            let bytes = try CLBlast.sgemmTemporaryBytes(
                queue: context.queue, transposeA: g.transposeA, transposeB: g.transposeB,
                m: g.m, n: g.n, k: g.k, aOffset: g.aOffset, lda: g.lda, bOffset: g.bOffset,
                ldb: g.ldb, cOffset: g.cOffset, ldc: g.ldc)
            if bytes > gemmScratch.bytes { gemmScratch = try context.makeBuffer(bytes: bytes) }
            let event = try CLBlast.sgemm(
                queue: context.queue, transposeA: g.transposeA, transposeB: g.transposeB, m: g.m, n: g.n, k: g.k,
                alpha: g.alpha, a: device(g.a), aOffset: g.aOffset, lda: g.lda, b: device(g.b), bOffset: g.bOffset,
                ldb: g.ldb, beta: g.beta, c: device(g.c), cOffset: g.cOffset, ldc: g.ldc, temporary: gemmScratch,
                withEvent: tracedEvents != nil)
            LaunchClock.noteLaunch()  // after: CLBlast builds its program inside the call
            if let event { tracedEvents?.append((layer.kernelName, event)) }
        case .biasActivation(let c) where c.pass == .forward:
            let bias = c.bias ?? c.z
            try set(
                k.forward, [c.z.buffer, bias.buffer, c.activations.buffer], [c.z, bias, c.activations].map(\.offset))
            try k.forward.setArgument(6, UInt32(c.rows))
            try k.forward.setArgument(7, UInt32(c.cols))
            try k.forward.setArgument(8, c.activation.rawValue)
            try k.forward.setArgument(9, UInt32(c.replicas))
            try k.forward.setArgument(10, UInt64(c.biasStride))
            try k.forward.setArgument(11, Int32(c.bias == nil ? 0 : 1))
            try enqueue(
                k.forward, global: c.rows * c.cols * c.replicas, local: k.forward.localSize(preferred: 64),
                name: layer.kernelName)
        case .biasActivation(let c):
            let bias = c.bias ?? c.z, gradZ = c.gradZ!
            try set(
                k.backward, [c.activations.buffer, c.z.buffer, gradZ.buffer, bias.buffer],
                [c.activations, c.z, gradZ, bias].map(\.offset))
            try k.backward.setArgument(8, UInt32(c.rows))
            try k.backward.setArgument(9, UInt32(c.cols))
            try k.backward.setArgument(10, c.activation.rawValue)
            try k.backward.setArgument(11, UInt32(c.replicas))
            try k.backward.setArgument(12, UInt64(c.biasStride))
            try k.backward.setArgument(13, Int32(c.accumulate ? 1 : 0))
            try k.backward.setArgument(14, Int32(c.bias == nil ? 0 : 1))
            // Columns x replicas (a 2-D range: see Kernels/layers.cl).
            try enqueue(
                k.backward, global: [c.cols, c.replicas], local: [k.backward.localSize(preferred: 32), 1],
                name: layer.kernelName)
        case .patches, .pool, .transpose, .batchNorm, .layerNorm, .embedding, .heads, .causalSoftmax, .dropout, .add,
            .tensorUpdate:
            try runDeep(layer)
        case .loss(let l):
            let kernel: Kernel
            switch l.kind {
            case .crossEntropy: kernel = k.crossEntropy
            case .bce: kernel = k.bce
            case .mse: kernel = k.mse
            }
            try set(
                kernel, [l.input, l.targets, l.grad, l.rowLoss, l.rowCorrect],
                [UInt64(l.inputOffset), UInt64(l.targetsOffset)])
            try kernel.setArgument(7, UInt32(l.rows))
            if l.kind == .bce {
                try kernel.setArgument(8, l.scale)
                try kernel.setArgument(9, UInt32(l.replicas))
            } else {
                try kernel.setArgument(8, UInt32(l.cols))
                try kernel.setArgument(9, l.scale)
                try kernel.setArgument(10, UInt32(l.replicas))
            }
            try enqueue(kernel, global: l.rows * l.replicas, local: kernel.localSize(preferred: 32))
        case .clipByNorm(let gradients, let count, let stats, let normIndex, let maxNorm):
            try k.clipByNorm.setArgument(0, device(gradients))
            try k.clipByNorm.setArgument(1, UInt64(count))
            try k.clipByNorm.setArgument(2, device(stats))
            try k.clipByNorm.setArgument(3, UInt64(normIndex))
            try k.clipByNorm.setArgument(4, maxNorm)
            try enqueue(
                k.clipByNorm, global: (count + vectorWidth - 1) / vectorWidth,
                local: k.clipByNorm.localSize(preferred: preferredLocalSize))
        case .lerpToward(let target, let toward, let count, let weight):
            try lerpToward.setArgument(0, device(target))
            try lerpToward.setArgument(1, device(toward))
            try lerpToward.setArgument(2, UInt64(count))
            try lerpToward.setArgument(3, weight)
            try enqueue(
                lerpToward, global: (count + vectorWidth - 1) / vectorWidth,
                local: lerpToward.localSize(preferred: preferredLocalSize))
        case .clipByValue(let gradients, let count, let clip):
            try k.clipByValue.setArgument(0, device(gradients))
            try k.clipByValue.setArgument(1, UInt64(count))
            try k.clipByValue.setArgument(2, clip)
            try enqueue(
                k.clipByValue, global: (count + vectorWidth - 1) / vectorWidth,
                local: k.clipByValue.localSize(preferred: preferredLocalSize))
        case .reduce(let r) where r.segments > 1 || r.count <= LayerKernels.singleGroupReduceLimit:
            // Segments, and sums small enough for one work-group, take one launch: on PoCL the two-stage
            // reduction's 64 work-groups cost ~130 µs for a 64-row loss.
            let kernel = k.reduceSegments
            try kernel.setArgument(0, device(r.source))
            try kernel.setArgument(1, device(r.destination))
            for (index, value) in [r.sourceOffset, r.count, r.index, r.destinationStride].enumerated() {
                try kernel.setArgument(2 + index, UInt64(value))
            }
            try kernel.setArgument(6, r.scale)
            try kernel.setArgument(7, Int32(r.squares ? 1 : 0))
            try kernel.setArgument(8, Int32(r.accumulate ? 1 : 0))
            try enqueue(kernel, global: r.segments * k.reduceLocal, local: k.reduceLocal)
        case .reduce(let r):
            try k.reducePartial.setArgument(0, device(r.source))
            try k.reducePartial.setArgument(1, k.partials)
            try k.reducePartial.setArgument(2, UInt64(r.sourceOffset))
            try k.reducePartial.setArgument(3, UInt64(r.count))
            try k.reducePartial.setArgument(4, Int32(r.squares ? 1 : 0))
            try enqueue(k.reducePartial, global: LayerKernels.reduceGroups * k.reduceLocal, local: k.reduceLocal)
            try k.reduceFinish.setArgument(0, k.partials)
            try k.reduceFinish.setArgument(1, device(r.destination))
            try k.reduceFinish.setArgument(2, UInt64(r.index))
            try k.reduceFinish.setArgument(3, r.scale)
            try k.reduceFinish.setArgument(4, Int32(r.accumulate ? 1 : 0))
            try enqueue(k.reduceFinish, global: k.reduceLocal, local: k.reduceLocal)
        }
    }

    /// Sets buffer arguments 0..<buffers.count, then the offsets after them.
    private func set(_ kernel: Kernel, _ buffers: [DeviceBuffer], _ offsets: [Int]) throws {
        try set(kernel, buffers, offsets.map { UInt64($0) })
    }

    /// Sets buffer arguments 0..<buffers.count, then the offsets after them.
    private func set(_ kernel: Kernel, _ buffers: [DeviceBuffer], _ offsets: [UInt64]) throws {
        for (index, buffer) in buffers.enumerated() { try kernel.setArgument(index, device(buffer)) }
        for (index, offset) in offsets.enumerated() { try kernel.setArgument(buffers.count + index, offset) }
    }
}
