import CEtaCPU
import EtaBackend

/// The matrix optimizers' per-tensor launches (`Kernels/deep/matrix.cl`, the bodies the OpenCL kernels run).
extension CPUBackend {
    private static let grain = 16_384

    func runTensorUpdate(_ command: TensorUpdateCommand) {
        switch command {
        case .muonMomentum(let g, let buffer, let output, let count, let oneMinus, let momentum, let nesterov):
            let (gp, bp, op) = (pointer(g.buffer), pointer(buffer.buffer), pointer(output.buffer))
            deepItems(count, grain: Self.grain) { b, e in
                eta_muon_momentum(
                    b, e, UInt64(count), gp, UInt64(g.offset), bp, UInt64(buffer.offset), op, UInt64(output.offset),
                    oneMinus, momentum, nesterov ? 1 : 0)
            }
        case .scaleByNorm(let values, let count, let stats, let index, let eps):
            let (vp, sp) = (pointer(values.buffer), pointer(stats))
            deepItems(count, grain: Self.grain) { b, e in
                eta_scale_by_norm(b, e, UInt64(count), vp, UInt64(values.offset), sp, UInt64(index), eps)
            }
        case .muonApply(let parameters, let update, let count, let decay, let negativeLR):
            let (pp, up) = (pointer(parameters.buffer), pointer(update.buffer))
            deepItems(count, grain: Self.grain) { b, e in
                eta_muon_apply(
                    b, e, UInt64(count), pp, UInt64(parameters.offset), up, UInt64(update.offset), decay, negativeLR)
            }
        case .adafactor(let c): runAdafactor(c)
        }
    }

    private func runAdafactor(_ c: AdafactorCommand) {
        let tensor = pointer(c.tensor.buffer), tensorOffset = UInt64(c.tensor.offset)
        let (rows, cols) = (UInt64(c.rows), UInt64(c.cols))
        switch c.stage {
        case .rows:
            let count = c.matrices * c.rows, rowVar = pointer(c.rowVariance.buffer)
            deepItems(count, grain: max(1, Self.grain / max(1, c.cols))) { b, e in
                eta_adafactor_rows(
                    b, e, UInt64(count), tensor, tensorOffset, rowVar, UInt64(c.rowVariance.offset), cols, c.weight)
            }
        case .columns:
            let count = c.matrices * c.cols, colVar = pointer(c.columnVariance.buffer)
            deepItems(count, grain: max(1, Self.grain / max(1, c.rows))) { b, e in
                eta_adafactor_cols(
                    b, e, UInt64(count), tensor, tensorOffset, colVar, UInt64(c.columnVariance.offset), rows, cols,
                    c.weight)
            }
        case .direction:
            let (out, rowVar, colVar, means) = (
                pointer(c.output.buffer), pointer(c.rowVariance.buffer), pointer(c.columnVariance.buffer),
                pointer(c.rowMeans.buffer)
            )
            deepItems(c.count, grain: Self.grain) { b, e in
                eta_adafactor_direction(
                    b, e, UInt64(c.count), tensor, tensorOffset, out, UInt64(c.output.offset), rowVar,
                    UInt64(c.rowVariance.offset), colVar, UInt64(c.columnVariance.offset), means,
                    UInt64(c.rowMeans.offset), rows, cols, c.eps1, c.eps1 * c.eps1, c.weight, c.factored ? 1 : 0,
                    c.maximize ? 1 : 0)
            }
        case .apply:
            let (update, stats) = (pointer(c.output.buffer), pointer(c.stats.buffer))
            deepItems(c.count, grain: Self.grain) { b, e in
                eta_adafactor_apply(
                    b, e, UInt64(c.count), tensor, tensorOffset, update, UInt64(c.output.offset), stats,
                    UInt64(c.stats.offset), c.decay, c.rho, c.eps2, c.d, Float(c.count))
            }
        }
    }
}
