import CEtaCPU
import EtaBackend

/// The deep-model layers: each command runs the C loops of `Kernels/deep/` (the bodies the OpenCL kernels run) over
/// its index range, split into chunks on all cores.
extension CPUBackend {
    /// The float at a slice's first element, as the C loops take buffers (base pointer and offset separately).
    private func base(_ slice: DeviceSlice) -> UnsafeMutablePointer<Float> { pointer(slice.buffer) }

    private static let elementwiseGrain = 16_384

    func runDeep(_ layer: LayerCommand) {
        switch layer {
        case .patches(let c): runPatches(c)
        case .pool(let c): runPool(c)
        case .transpose(let c):
            let (source, destination) = (base(c.source), base(c.destination))
            deepItems(c.matrices * c.rows, grain: max(1, Self.elementwiseGrain / max(1, c.cols))) { b, e in
                eta_transpose(
                    b, e, UInt64(c.matrices * c.rows), source, UInt64(c.source.offset), destination,
                    UInt64(c.destination.offset), UInt64(c.rows), UInt64(c.cols), c.accumulate ? 1 : 0)
            }
        case .batchNorm(let c): runBatchNorm(c)
        case .layerNorm(let c): runLayerNorm(c)
        case .embedding(let c): runEmbedding(c)
        case .heads(let c): runHeads(c)
        case .causalSoftmax(let c): runCausalSoftmax(c)
        case .dropout(let c):
            let (source, destination) = (base(c.source), base(c.destination))
            deepItems(c.count, grain: Self.elementwiseGrain) { b, e in
                eta_dropout(
                    b, e, UInt64(c.count), source, UInt64(c.source.offset), destination, UInt64(c.destination.offset),
                    c.threshold, c.scale, c.seed, c.stream, c.step, c.accumulate ? 1 : 0)
            }
        case .add(let c):
            let a = base(c.a), b = c.b.map(base) ?? a, destination = base(c.destination)
            deepItems(c.count, grain: Self.elementwiseGrain) { begin, end in
                eta_add(
                    begin, end, UInt64(c.count), a, UInt64(c.a.offset), b, UInt64(c.b?.offset ?? 0), c.b == nil ? 0 : 1,
                    destination, UInt64(c.destination.offset), c.accumulate ? 1 : 0)
            }
        case .tensorUpdate(let c): runTensorUpdate(c)
        default: preconditionFailure("runDeep got \(layer.kernelName)")
        }
    }

    private func runPatches(_ c: PatchCommand) {
        let g = c.geometry
        let (image, patches) = (base(c.image), base(c.patches))
        let window = (
            UInt64(g.channels), UInt64(g.height), UInt64(g.width), UInt64(g.kernel), UInt64(g.stride),
            UInt64(g.padding),
            UInt64(g.outputHeight), UInt64(g.outputWidth)
        )
        let last: Int32 = c.layout == .channelsLast ? 1 : 0
        if c.pass == .forward {
            let count = c.images * g.outputHeight
            deepItems(count, grain: 8) { b, e in
                eta_im2col(
                    b, e, UInt64(count), image, UInt64(c.image.offset), patches, UInt64(c.patches.offset), window.0,
                    window.1, window.2, window.3, window.4, window.5, window.6, window.7, last)
            }
        } else {
            let count = c.images * g.height
            deepItems(count, grain: 8) { b, e in
                eta_col2im(
                    b, e, UInt64(count), image, UInt64(c.image.offset), patches, UInt64(c.patches.offset), window.0,
                    window.1, window.2, window.3, window.4, window.5, window.6, window.7, last, c.accumulate ? 1 : 0)
            }
        }
    }

    private func runPool(_ c: PoolCommand) {
        let g = c.geometry
        let (source, destination) = (base(c.source), base(c.destination))
        let indices = c.indices.map(base) ?? destination, indicesOffset = UInt64(c.indices?.offset ?? 0)
        let isMax: Int32 = c.kind == .max ? 1 : 0
        let window = (
            UInt64(g.channels), UInt64(g.height), UInt64(g.width), UInt64(g.kernel), UInt64(g.stride),
            UInt64(g.padding),
            UInt64(g.outputHeight), UInt64(g.outputWidth)
        )
        if c.pass == .forward {
            let count = c.images * g.outputHeight
            deepItems(count, grain: 8) { b, e in
                eta_pool_forward(
                    b, e, UInt64(count), source, UInt64(c.source.offset), destination, UInt64(c.destination.offset),
                    indices, indicesOffset, window.0, window.1, window.2, window.3, window.4, window.5, window.6,
                    window.7, isMax)
            }
        } else {
            let count = c.images * g.height
            deepItems(count, grain: 8) { b, e in
                eta_pool_backward(
                    b, e, UInt64(count), source, UInt64(c.source.offset), destination, UInt64(c.destination.offset),
                    indices, indicesOffset, window.0, window.1, window.2, window.3, window.4, window.5, window.6,
                    window.7, isMax, c.accumulate ? 1 : 0)
            }
        }
    }
}
