import CEtaCPU
import EtaBackend

/// Normalisation, embeddings and attention on the CPU: the C loops of `Kernels/deep/norm.cl` and `sequence.cl`.
extension CPUBackend {
    /// Runs `body(begin, end)` over [0, count) in chunks of at least `grain` indices on all cores.
    func deepItems(_ count: Int, grain: Int, _ body: (UInt64, UInt64) -> Void) {
        guard count > 0 else { return }
        let chunks = min(threads * 4, (count + grain - 1) / grain)
        if chunks <= 1 || threads == 1 { body(0, UInt64(count)); return }
        let size = (count + chunks - 1) / chunks
        concurrentPerform(chunks) { chunk in
            let begin = chunk * size, end = min(count, begin + size)
            if begin < end { body(UInt64(begin), UInt64(end)) }
        }
    }

    func runBatchNorm(_ c: BatchNormCommand) {
        let parameters = pointer(c.weight.buffer), saved = pointer(c.saved.buffer)
        let running = pointer(c.runningMean.buffer)
        let (input, output) = (pointer(c.input.buffer), pointer(c.output.buffer))
        let (rows, channels) = (UInt64(c.rows), UInt64(c.channels))
        let (weight, bias, stride) = (UInt64(c.weight.offset), UInt64(c.bias.offset), UInt64(c.parameterStride))
        let (savedOffset, mean, variance) = (
            UInt64(c.saved.offset), UInt64(c.runningMean.offset), UInt64(c.runningVariance.offset)
        )
        let columns = c.replicas * c.channels, elements = columns * c.rows
        switch c.mode {
        case .trainingForward, .evaluationForward:
            if c.mode == .trainingForward {
                deepItems(columns, grain: 1) { b, e in
                    eta_batch_norm_statistics(
                        b, e, UInt64(columns), input, UInt64(c.input.offset), rows, channels, parameters, weight, bias,
                        stride, saved, savedOffset, c.epsilon, running, mean, variance, UInt64(c.runningStride),
                        c.momentum)
                }
            }
            deepItems(elements, grain: 16_384) { b, e in
                eta_batch_norm_normalize(
                    b, e, UInt64(elements), input, UInt64(c.input.offset), output, UInt64(c.output.offset), rows,
                    channels, parameters, weight, bias, stride, saved, savedOffset, c.epsilon, running, mean, variance,
                    UInt64(c.runningStride), c.mode == .evaluationForward ? 1 : 0)
            }
        case .backward:
            let gradOutput = pointer(c.gradOutput!.buffer), gradients = pointer(c.gradWeight!.buffer)
            deepItems(columns, grain: 1) { b, e in
                eta_batch_norm_backward_sums(
                    b, e, UInt64(columns), input, UInt64(c.input.offset), gradOutput, UInt64(c.gradOutput!.offset),
                    rows,
                    channels, parameters, weight, bias, stride, saved, savedOffset, c.epsilon, gradients,
                    c.accumulateParameters ? 1 : 0)
            }
            deepItems(elements, grain: 16_384) { b, e in
                eta_batch_norm_backward_input(
                    b, e, UInt64(elements), input, UInt64(c.input.offset), gradOutput, UInt64(c.gradOutput!.offset),
                    output, UInt64(c.output.offset), rows, channels, parameters, weight, bias, stride, saved,
                    savedOffset, c.epsilon, c.accumulateInput ? 1 : 0)
            }
        }
    }

    func runLayerNorm(_ c: LayerNormCommand) {
        let parameters = pointer(c.weight.buffer), saved = pointer(c.saved.buffer)
        let (input, output) = (pointer(c.input.buffer), pointer(c.output.buffer))
        let (rows, cols) = (UInt64(c.rows), UInt64(c.cols))
        let (weight, bias, savedOffset) = (UInt64(c.weight.offset), UInt64(c.bias.offset), UInt64(c.saved.offset))
        let grain = max(1, 4096 / max(1, c.cols))
        guard c.pass == .backward else {
            deepItems(c.rows, grain: grain) { b, e in
                eta_layer_norm_forward(
                    b, e, rows, input, UInt64(c.input.offset), output, UInt64(c.output.offset), rows, cols, parameters,
                    weight, bias, saved, savedOffset, c.epsilon)
            }
            return
        }
        let gradOutput = pointer(c.gradOutput!.buffer), gradients = pointer(c.gradWeight!.buffer)
        deepItems(c.rows, grain: grain) { b, e in
            eta_layer_norm_backward_input(
                b, e, rows, input, UInt64(c.input.offset), gradOutput, UInt64(c.gradOutput!.offset), output,
                UInt64(c.output.offset), rows, cols, parameters, weight, bias, saved, savedOffset, c.epsilon,
                c.accumulateInput ? 1 : 0)
        }
        deepItems(c.cols, grain: 1) { b, e in
            eta_layer_norm_backward_parameters(
                b, e, cols, input, UInt64(c.input.offset), gradOutput, UInt64(c.gradOutput!.offset), rows, cols,
                parameters, UInt64(c.gradWeight!.offset), UInt64(c.gradBias!.offset), saved, savedOffset, c.epsilon,
                gradients, c.accumulateParameters ? 1 : 0)
        }
    }

    func runEmbedding(_ c: EmbeddingCommand) {
        let ids = pointer(c.ids.buffer), tables = pointer(c.tokenTable.buffer), output = pointer(c.output.buffer)
        let shape = (
            UInt64(c.ids.offset), UInt64(c.rows), UInt64(c.sequenceLength), UInt64(c.width), UInt64(c.vocabulary),
            UInt64(c.tokenTable.offset), UInt64(c.positionTable.offset)
        )
        if c.pass == .forward {
            let count = c.rows * c.width
            deepItems(count, grain: 16_384) { b, e in
                eta_embedding_forward(
                    b, e, UInt64(count), ids, shape.0, shape.1, shape.2, shape.3, shape.4, shape.5, shape.6, tables,
                    output, UInt64(c.output.offset))
            }
            return
        }
        let accumulate: Int32 = c.accumulate ? 1 : 0
        deepItems(c.width, grain: 1) { b, e in
            eta_embedding_backward_tokens(
                b, e, UInt64(c.width), ids, shape.0, shape.1, shape.2, shape.3, shape.4, shape.5, shape.6, tables,
                output, UInt64(c.output.offset), accumulate)
        }
        let positions = c.sequenceLength * c.width
        deepItems(positions, grain: 64) { b, e in
            eta_embedding_backward_positions(
                b, e, UInt64(positions), ids, shape.0, shape.1, shape.2, shape.3, shape.4, shape.5, shape.6, tables,
                output, UInt64(c.output.offset), accumulate)
        }
    }

    func runHeads(_ c: HeadsCommand) {
        let (fused, split) = (pointer(c.fused.buffer), pointer(c.split.buffer))
        let rows = c.sequences * c.sequenceLength
        deepItems(rows, grain: 16) { b, e in
            eta_heads_permute(
                b, e, UInt64(rows), fused, UInt64(c.fused.offset), split, UInt64(c.split.offset),
                UInt64(c.sequenceLength),
                UInt64(c.heads), UInt64(c.headWidth), UInt64(c.parts), c.pass == .forward ? 1 : 0, c.accumulate ? 1 : 0)
        }
    }

    func runCausalSoftmax(_ c: CausalSoftmaxCommand) {
        let scores = pointer(c.scores.buffer), length = UInt64(c.sequenceLength)
        if c.pass == .forward {
            deepItems(c.rows, grain: 16) { b, e in
                eta_causal_softmax_forward(b, e, UInt64(c.rows), scores, UInt64(c.scores.offset), length, c.scale)
            }
            return
        }
        let gradients = pointer(c.gradients!.buffer)
        deepItems(c.rows, grain: 16) { b, e in
            eta_causal_softmax_backward(
                b, e, UInt64(c.rows), scores, UInt64(c.scores.offset), gradients, UInt64(c.gradients!.offset), length,
                c.scale)
        }
    }
}
