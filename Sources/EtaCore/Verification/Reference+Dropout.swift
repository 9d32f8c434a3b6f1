/// Dropout with a counter-based mask: element i of a layer's activations at a given step is kept or dropped by a
/// hash of (seed, stream, step, i) alone, so a CPU loop, an OpenCL kernel and this Reference draw the same mask with
/// no state to carry, in any order, on any number of threads, and a resumed run redraws exactly what it would have.
extension Reference {
    /// The keep threshold on a 24-bit uniform for drop probability `p`: element i is kept when its draw is below it.
    /// 24 bits so the comparison is exact in float32 too; p is rounded to a multiple of 2⁻²⁴.
    ///
    /// - Parameter p: The drop probability, in [0, 1].
    /// - Returns: round((1 − p) · 2²⁴).
    public static func dropoutThreshold(p: Double) -> UInt32 { UInt32(((1 - p) * 16_777_216).rounded()) }

    /// The 24-bit uniform draw of element `index`: SplitMix64's finaliser (Steele, Lea and Flood, 2014) over the
    /// element's counter, the top 24 bits kept. Integer operations only, so every backend computes the same bits.
    ///
    /// - Parameters:
    ///   - seed: The run's seed.
    ///   - stream: Which dropout layer (each layer its own stream).
    ///   - step: The optimizer step (1-based), so every step draws a new mask.
    ///   - index: The element within the layer's activations.
    /// - Returns: A value in [0, 2²⁴).
    public static func dropoutDraw(seed: UInt64, stream: UInt64, step: UInt64, index: UInt64) -> UInt32 {
        var z =
            seed &+ (stream &* 0xD1B5_4A32_D192_ED03) &+ (step &* 0x9E37_79B9_7F4A_7C15)
            &+ (index &* 0xBF58_476D_1CE4_E5B9)
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return UInt32(truncatingIfNeeded: z >> 40)
    }

    /// `Dropout` forward in training: kept elements scaled by 1/(1 − p), dropped ones zero (PyTorch's inverted
    /// dropout; p = 1 drops everything). In evaluation dropout is the identity.
    ///
    /// - Parameters:
    ///   - input: The activations.
    ///   - p: The drop probability, in [0, 1].
    ///   - seed: The run's seed.
    ///   - stream: The layer's stream.
    ///   - step: The optimizer step.
    /// - Returns: The output and the mask (true: kept), which the backward pass applies again.
    public static func dropout<T: ReferenceReal>(
        input: [T], p: Double, seed: UInt64, stream: UInt64, step: UInt64
    ) -> (
        output: [T], mask: [Bool]
    ) {
        let threshold = dropoutThreshold(p: p)
        let scale: T = p < 1 ? T(1 / (1 - p)) : 0
        let mask = input.indices.map {
            dropoutDraw(seed: seed, stream: stream, step: step, index: UInt64($0)) < threshold
        }
        return (zip(input, mask).map { $1 ? $0 * scale : 0 }, mask)
    }

    /// `Dropout` backward: the forward pass's mask and scale applied to the output's gradient.
    ///
    /// - Parameters:
    ///   - gradOutput: dL/doutput.
    ///   - mask: The forward pass's mask.
    ///   - p: The drop probability.
    /// - Returns: dL/dinput.
    public static func dropoutBackward<T: ReferenceReal>(gradOutput: [T], mask: [Bool], p: Double) -> [T] {
        let scale: T = p < 1 ? T(1 / (1 - p)) : 0
        return zip(gradOutput, mask).map { $1 ? $0 * scale : 0 }
    }
}
