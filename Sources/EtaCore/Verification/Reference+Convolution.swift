/// Convolution and pooling in the plain loops of their definitions, generic over Float and Double: the oracle for
/// the convolutional layers' kernels and, in Double, for central finite differences. Layouts are PyTorch's: inputs
/// `[N, C, H, W]`, convolution weights `[O, C, k, k]`, row-major.
extension Reference {
    /// `Conv2d` forward: out[n, o, y, x] = bias[o] + Σ_c,ky,kx w[o, c, ky, kx] · in[n, c, y·s − p + ky, x·s − p + kx],
    /// summed in that order (c outer, kx inner).
    ///
    /// - Parameters:
    ///   - input: `[batch, C, H, W]`.
    ///   - weight: `[outputs, C, k, k]`.
    ///   - bias: `[outputs]`, or nil for none.
    ///   - outputs: Output channels.
    ///   - batch: Images in the batch.
    ///   - geometry: Input shape, kernel, stride and padding.
    /// - Returns: `[batch, outputs, outputHeight, outputWidth]`.
    public static func conv2d<T: ReferenceReal>(
        input: [T], weight: [T], bias: [T]?, outputs: Int, batch: Int, geometry g: WindowGeometry
    ) -> [T] {
        let (oh, ow) = (g.outputHeight, g.outputWidth)
        var output = [T](repeating: 0, count: batch * outputs * oh * ow)
        for n in 0..<batch {
            for o in 0..<outputs {
                for y in 0..<oh {
                    for x in 0..<ow {
                        var sum: T = bias?[o] ?? 0
                        for c in 0..<g.channels {
                            for ky in 0..<g.kernel {
                                for kx in 0..<g.kernel {
                                    guard let (sy, sx) = g.source(y, x, ky, kx) else { continue }
                                    let w = weight[((o * g.channels + c) * g.kernel + ky) * g.kernel + kx]
                                    sum += w * input[((n * g.channels + c) * g.height + sy) * g.width + sx]
                                }
                            }
                        }
                        output[((n * outputs + o) * oh + y) * ow + x] = sum
                    }
                }
            }
        }
        return output
    }

    /// `Conv2d` backward: the gradients of the input, the weight and the bias from the output's gradient.
    ///
    /// - Parameters:
    ///   - gradOutput: `[batch, outputs, outputHeight, outputWidth]`.
    ///   - input: The forward pass's input.
    ///   - weight: The forward pass's weight.
    ///   - outputs: Output channels.
    ///   - batch: Images in the batch.
    ///   - geometry: Input shape, kernel, stride and padding.
    /// - Returns: dL/dinput `[batch, C, H, W]`, dL/dweight `[outputs, C, k, k]` and dL/dbias `[outputs]`.
    public static func conv2dBackward<T: ReferenceReal>(
        gradOutput: [T], input: [T], weight: [T], outputs: Int, batch: Int, geometry g: WindowGeometry
    ) -> (input: [T], weight: [T], bias: [T]) {
        let (oh, ow) = (g.outputHeight, g.outputWidth)
        var gradInput = [T](repeating: 0, count: input.count)
        var gradWeight = [T](repeating: 0, count: weight.count)
        var gradBias = [T](repeating: 0, count: outputs)
        for n in 0..<batch {
            for o in 0..<outputs {
                for y in 0..<oh {
                    for x in 0..<ow {
                        let dy = gradOutput[((n * outputs + o) * oh + y) * ow + x]
                        gradBias[o] += dy
                        for c in 0..<g.channels {
                            for ky in 0..<g.kernel {
                                for kx in 0..<g.kernel {
                                    guard let (sy, sx) = g.source(y, x, ky, kx) else { continue }
                                    let w = ((o * g.channels + c) * g.kernel + ky) * g.kernel + kx
                                    let i = ((n * g.channels + c) * g.height + sy) * g.width + sx
                                    gradWeight[w] += dy * input[i]
                                    gradInput[i] += dy * weight[w]
                                }
                            }
                        }
                    }
                }
            }
        }
        return (gradInput, gradWeight, gradBias)
    }

    /// `MaxPool2d` forward (padding positions never win, as PyTorch pads with −∞); the first maximum in scan order
    /// wins a tie.
    ///
    /// - Parameters:
    ///   - input: `[batch, C, H, W]`.
    ///   - batch: Images in the batch.
    ///   - geometry: Input shape, window, stride and padding.
    /// - Returns: The pooled `[batch, C, outputHeight, outputWidth]` and, per output, the flat input index it took.
    public static func maxPool2d<T: ReferenceReal>(
        input: [T], batch: Int, geometry g: WindowGeometry
    ) -> (
        output: [T], indices: [Int]
    ) {
        let (oh, ow) = (g.outputHeight, g.outputWidth)
        var output = [T](repeating: 0, count: batch * g.channels * oh * ow)
        var indices = [Int](repeating: -1, count: output.count)
        for plane in 0..<(batch * g.channels) {
            for y in 0..<oh {
                for x in 0..<ow {
                    var best = -T.infinity, at = -1
                    for ky in 0..<g.kernel {
                        for kx in 0..<g.kernel {
                            guard let (sy, sx) = g.source(y, x, ky, kx) else { continue }
                            let i = (plane * g.height + sy) * g.width + sx
                            if input[i] > best || at < 0 { (best, at) = (input[i], i) }
                        }
                    }
                    output[(plane * oh + y) * ow + x] = best
                    indices[(plane * oh + y) * ow + x] = at
                }
            }
        }
        return (output, indices)
    }

    /// `MaxPool2d` backward: each output's gradient goes to the input it took.
    ///
    /// - Parameters:
    ///   - gradOutput: The pooled output's gradient.
    ///   - indices: The forward pass's indices.
    ///   - inputCount: Elements of the input.
    /// - Returns: dL/dinput.
    public static func maxPool2dBackward<T: ReferenceReal>(gradOutput: [T], indices: [Int], inputCount: Int) -> [T] {
        var gradInput = [T](repeating: 0, count: inputCount)
        for (dy, i) in zip(gradOutput, indices) where i >= 0 { gradInput[i] += dy }
        return gradInput
    }

    /// `AvgPool2d` forward with PyTorch's defaults (`count_include_pad=True`: padding counts as zeros in the k·k
    /// divisor). `AdaptiveAvgPool2d(1)` (global average pooling) is the window of the whole image.
    ///
    /// - Parameters:
    ///   - input: `[batch, C, H, W]`.
    ///   - batch: Images in the batch.
    ///   - geometry: Input shape, window, stride and padding.
    /// - Returns: `[batch, C, outputHeight, outputWidth]`.
    public static func avgPool2d<T: ReferenceReal>(input: [T], batch: Int, geometry g: WindowGeometry) -> [T] {
        let (oh, ow) = (g.outputHeight, g.outputWidth)
        let area = T(g.kernel * g.kernel)
        var output = [T](repeating: 0, count: batch * g.channels * oh * ow)
        for plane in 0..<(batch * g.channels) {
            for y in 0..<oh {
                for x in 0..<ow {
                    var sum: T = 0
                    for ky in 0..<g.kernel {
                        for kx in 0..<g.kernel {
                            guard let (sy, sx) = g.source(y, x, ky, kx) else { continue }
                            sum += input[(plane * g.height + sy) * g.width + sx]
                        }
                    }
                    output[(plane * oh + y) * ow + x] = sum / area
                }
            }
        }
        return output
    }

    /// `AvgPool2d` backward: each output's gradient spread evenly over its window (k·k, padding included).
    ///
    /// - Parameters:
    ///   - gradOutput: The pooled output's gradient.
    ///   - batch: Images in the batch.
    ///   - geometry: Input shape, window, stride and padding.
    /// - Returns: dL/dinput `[batch, C, H, W]`.
    public static func avgPool2dBackward<T: ReferenceReal>(
        gradOutput: [T], batch: Int, geometry g: WindowGeometry
    ) -> [T] {
        let (oh, ow) = (g.outputHeight, g.outputWidth)
        let area = T(g.kernel * g.kernel)
        var gradInput = [T](repeating: 0, count: batch * g.channels * g.height * g.width)
        for plane in 0..<(batch * g.channels) {
            for y in 0..<oh {
                for x in 0..<ow {
                    let share = gradOutput[(plane * oh + y) * ow + x] / area
                    for ky in 0..<g.kernel {
                        for kx in 0..<g.kernel {
                            guard let (sy, sx) = g.source(y, x, ky, kx) else { continue }
                            gradInput[(plane * g.height + sy) * g.width + sx] += share
                        }
                    }
                }
            }
        }
        return gradInput
    }
}
