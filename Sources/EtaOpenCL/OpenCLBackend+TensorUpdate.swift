import EtaBackend
import EtaCL

/// The matrix optimizers' per-tensor launches (`Kernels/deep/matrix.cl`, the bodies the CPU loops run).
extension OpenCLBackend {
    func runTensorUpdate(_ command: TensorUpdateCommand) throws {
        switch command {
        case .muonMomentum(let g, let buffer, let output, let count, let oneMinus, let momentum, let nesterov):
            try launch(
                "muon_momentum", count: count,
                slice(g) + slice(buffer) + slice(output) + [.number(oneMinus), .number(momentum), .flag(nesterov)])
        case .scaleByNorm(let values, let count, let stats, let index, let eps):
            try launch(
                "scale_by_norm", count: count,
                slice(values) + [.buffer(device(stats)), .index(index), .number(eps)])
        case .muonApply(let parameters, let update, let count, let decay, let negativeLR):
            try launch(
                "muon_apply", count: count,
                slice(parameters) + slice(update) + [.number(decay), .number(negativeLR)])
        case .adafactor(let c):
            switch c.stage {
            case .rows:
                try launch(
                    "adafactor_rows", count: c.matrices * c.rows,
                    slice(c.tensor) + slice(c.rowVariance) + [.index(c.cols), .number(c.weight)])
            case .columns:
                try launch(
                    "adafactor_cols", count: c.matrices * c.cols,
                    slice(c.tensor) + slice(c.columnVariance) + [.index(c.rows), .index(c.cols), .number(c.weight)])
            case .direction:
                try launch(
                    "adafactor_direction", count: c.count,
                    slice(c.tensor) + slice(c.output) + slice(c.rowVariance) + slice(c.columnVariance)
                        + slice(c.rowMeans)
                        + [.index(c.rows), .index(c.cols), .number(c.eps1), .number(c.eps1 * c.eps1)]
                        + [.number(c.weight), .flag(c.factored), .flag(c.maximize)])
            case .apply:
                try launch(
                    "adafactor_apply", count: c.count,
                    slice(c.tensor) + slice(c.output) + slice(c.stats)
                        + [.number(c.decay), .number(c.rho), .number(c.eps2), .number(c.d), .number(Float(c.count))])
            }
        }
    }
}
