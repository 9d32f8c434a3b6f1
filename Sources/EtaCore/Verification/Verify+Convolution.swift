/// Checks of the image kernels (patches with the GEMMs that make a convolution, pooling, flattening) against the
/// Reference in float64. The Reference works in PyTorch's NCHW layout; the device keeps activations channels-last,
/// so inputs are converted on the way in and results on the way out.
///
/// Bounds: a convolution output sums C·k·k products of values in [−1, 1), its weight gradient N·OH·OW of them, so
/// |error| ≤ (terms + 2)·2⁻²³ bounds any float32 summation order (as for the GEMM checks).
extension Verify {
    /// Convolution shapes: (batch, channels, height, width, kernel, stride, padding, outputs), with ragged sizes,
    /// stride 2, padding wider than the stride, 1x1 kernels and a window as large as the image.
    public static let convolutionShapes = [
        (1, 1, 5, 5, 3, 1, 1, 2), (2, 3, 7, 6, 3, 2, 1, 4), (3, 2, 8, 8, 1, 2, 0, 3), (2, 4, 6, 6, 5, 1, 2, 5),
        (1, 3, 4, 4, 4, 1, 0, 2),
    ]
    /// Pooling shapes: (batch, channels, height, width, window, stride, padding).
    public static let poolShapes = [
        (2, 3, 8, 8, 2, 2, 0), (1, 2, 7, 5, 3, 2, 1), (3, 1, 6, 6, 6, 6, 0), (2, 5, 9, 9, 3, 1, 1),
    ]

    /// Runs every image-kernel check.
    ///
    /// - Parameters:
    ///   - backend: The backend to check.
    ///   - progress: Called with each result as it is made.
    /// - Returns: Every result, in the order made.
    /// - Throws: The backend's error.
    public static func runImageLayers(
        backend: Backend, progress: (VerifyResult) -> Void = { _ in }
    ) throws
        -> [VerifyResult]
    {
        var results: [VerifyResult] = []
        func record(_ result: VerifyResult) { progress(result); results.append(result) }
        for (n, c, h, w, k, s, p, o) in convolutionShapes {
            let geometry = WindowGeometry(channels: c, height: h, width: w, kernel: k, stride: s, padding: p)
            for layout in [ImageLayout.channelsFirst, .channelsLast] {
                record(try checkConvolution(batch: n, outputs: o, geometry: geometry, layout: layout, backend: backend))
            }
        }
        for (n, c, h, w, k, s, p) in poolShapes {
            let geometry = WindowGeometry(channels: c, height: h, width: w, kernel: k, stride: s, padding: p)
            for kind in [PoolCommand.Kind.max, .average] {
                record(try checkPool(kind, batch: n, geometry: geometry, backend: backend))
            }
        }
        record(try checkTranspose(matrices: 3, rows: 7, cols: 5, backend: backend))
        return results
    }

    /// NCHW → NHWC (or back with `inverse`) for a batch of `[channels, pixels]` images.
    static func channelsLast<T>(_ values: [T], batch: Int, channels: Int, pixels: Int, inverse: Bool = false) -> [T] {
        var result = values
        for n in 0..<batch {
            for c in 0..<channels {
                for q in 0..<pixels {
                    let first = (n * channels + c) * pixels + q, last = (n * pixels + q) * channels + c
                    if inverse { result[first] = values[last] } else { result[last] = values[first] }
                }
            }
        }
        return result
    }

    /// A convolution forward (im2col, GEMM, bias) and backward (the two GEMMs, the bias sum, col2im) against
    /// `Reference.conv2d` and `conv2dBackward`.
    ///
    /// - Parameters:
    ///   - batch: Images.
    ///   - outputs: Output channels.
    ///   - geometry: Input shape and window.
    ///   - layout: How the input is stored on the device.
    ///   - backend: The backend to check.
    /// - Returns: The result over the output and the three gradients.
    /// - Throws: The backend's error.
    public static func checkConvolution(
        batch: Int, outputs: Int, geometry g: WindowGeometry, layout: ImageLayout, backend: Backend
    ) throws -> VerifyResult {
        var random = SplitMix64(seed: UInt64(batch * 7919 + g.channels * 31 + g.kernel * 7 + outputs))
        let pixels = g.height * g.width, outPixels = g.outputHeight * g.outputWidth
        let columns = g.channels * g.kernel * g.kernel, rows = batch * outPixels
        let x = random.uniforms(batch * g.channels * pixels), w = random.uniforms(outputs * columns)
        let b = random.uniforms(outputs), dyNCHW = random.uniforms(batch * outputs * outPixels)
        let last = layout == .channelsLast
        let xDevice = last ? channelsLast(x, batch: batch, channels: g.channels, pixels: pixels) : x
        let image = try upload(xDevice, backend), weight = try upload(w, backend), bias = try upload(b, backend)
        let patches = try backend.makeBuffer(count: rows * columns), y = try backend.makeBuffer(count: rows * outputs)
        try backend.run(
            .patches(
                PatchCommand(
                    pass: .forward, image: DeviceSlice(image), layout: layout, patches: DeviceSlice(patches),
                    images: batch, geometry: g)))
        try backend.run(
            .gemm(
                MatrixMultiply(
                    transposeB: true, m: rows, n: outputs, k: columns, a: patches, lda: columns, b: weight,
                    ldb: columns, c: y, ldc: outputs)))
        try backend.run(
            .biasActivation(
                BiasActivationCommand(
                    pass: .forward, z: DeviceSlice(y), bias: DeviceSlice(bias), activations: DeviceSlice(y),
                    rows: rows, cols: outputs, activation: .identity)))
        let dy = try upload(channelsLast(dyNCHW, batch: batch, channels: outputs, pixels: outPixels), backend)
        let dw = try backend.makeBuffer(count: outputs * columns), db = try backend.makeBuffer(count: outputs)
        let dz = try backend.makeBuffer(count: rows * outputs), dp = try backend.makeBuffer(count: rows * columns)
        let dx = try backend.makeBuffer(count: x.count)
        try backend.run(
            .biasActivation(
                BiasActivationCommand(
                    pass: .backward, z: DeviceSlice(y), bias: DeviceSlice(db), activations: DeviceSlice(dy),
                    gradZ: DeviceSlice(dz), rows: rows, cols: outputs, activation: .identity)))
        try backend.run(
            .gemm(
                MatrixMultiply(
                    transposeA: true, m: outputs, n: columns, k: rows, a: dy, lda: outputs, b: patches, ldb: columns,
                    c: dw, ldc: columns)))
        try backend.run(
            .gemm(
                MatrixMultiply(
                    m: rows, n: columns, k: outputs, a: dy, lda: outputs, b: weight, ldb: columns, c: dp, ldc: columns
                )))
        try backend.run(
            .patches(
                PatchCommand(
                    pass: .backward, image: DeviceSlice(dx), layout: layout, patches: DeviceSlice(dp), images: batch,
                    geometry: g)))
        let double = { (values: [Float]) in values.map(Double.init) }
        let expected = Reference.conv2d(
            input: double(x), weight: double(w), bias: double(b), outputs: outputs, batch: batch, geometry: g)
        let gradients = Reference.conv2dBackward(
            gradOutput: double(dyNCHW), input: double(x), weight: double(w), outputs: outputs, batch: batch,
            geometry: g)
        let toFloat = { (values: [Double]) in values.map { Float($0) } }
        var comparison = Comparison()
        comparison.add(
            "output",
            channelsLast(try backend.read(y), batch: batch, channels: outputs, pixels: outPixels, inverse: true),
            toFloat(expected))
        let dxRead = try backend.read(dx)
        comparison.add(
            "grad_input",
            last ? channelsLast(dxRead, batch: batch, channels: g.channels, pixels: pixels, inverse: true) : dxRead,
            toFloat(gradients.input))
        comparison.add("grad_weight", try backend.read(dw), toFloat(gradients.weight))
        comparison.add("grad_bias", try backend.read(db), toFloat(gradients.bias))
        let terms = max(columns, rows, outputs * g.kernel * g.kernel)
        return comparison.result(
            kernel: "conv2d",
            configuration: "n=\(batch),c=\(g.channels),\(g.height)x\(g.width),k=\(g.kernel),s=\(g.stride),"
                + "p=\(g.padding),o=\(outputs),\(last ? "nhwc" : "nchw")",
            size: x.count, absoluteBound: Double(terms + 2) * 0x1p-23)
    }
}
