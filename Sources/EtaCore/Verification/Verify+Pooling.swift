/// Checks of pooling and flattening against the Reference (channels-last on the device, NCHW in the Reference).
extension Verify {
    /// Pooling forward and backward against `Reference.maxPool2d`/`avgPool2d` and their backward passes. A max
    /// pool's backward routes each gradient to the window's first maximum, exactly as PyTorch does.
    ///
    /// - Parameters:
    ///   - kind: Max or average.
    ///   - batch: Images.
    ///   - geometry: Input shape and window.
    ///   - backend: The backend to check.
    /// - Returns: The result over the output and the input gradient.
    /// - Throws: The backend's error.
    public static func checkPool(
        _ kind: PoolCommand.Kind, batch: Int, geometry g: WindowGeometry, backend: Backend
    ) throws -> VerifyResult {
        var random = SplitMix64(seed: UInt64(batch * 131 + g.channels * 17 + g.kernel) + (kind == .max ? 0 : 99))
        let pixels = g.height * g.width, outPixels = g.outputHeight * g.outputWidth
        var x = random.uniforms(batch * g.channels * pixels)
        // Ties: the first maximum must win, as in PyTorch.
        if x.count > 3 { x[1] = x[0] }
        let dyNCHW = random.uniforms(batch * g.channels * outPixels)
        let input = try upload(channelsLast(x, batch: batch, channels: g.channels, pixels: pixels), backend)
        let output = try backend.makeBuffer(count: dyNCHW.count), indices = try backend.makeBuffer(count: dyNCHW.count)
        let dy = try upload(channelsLast(dyNCHW, batch: batch, channels: g.channels, pixels: outPixels), backend)
        let dx = try backend.makeBuffer(count: x.count)
        let winners = kind == .max ? DeviceSlice(indices) : nil
        try backend.run(
            .pool(
                PoolCommand(
                    kind: kind, pass: .forward, source: DeviceSlice(input), destination: DeviceSlice(output),
                    indices: winners, images: batch, geometry: g)))
        try backend.run(
            .pool(
                PoolCommand(
                    kind: kind, pass: .backward, source: DeviceSlice(dy), destination: DeviceSlice(dx),
                    indices: winners, images: batch, geometry: g)))
        let xDouble = x.map(Double.init), dyDouble = dyNCHW.map(Double.init)
        let expected: [Double], expectedGrad: [Double]
        if kind == .max {
            let forward = Reference.maxPool2d(input: xDouble, batch: batch, geometry: g)
            expected = forward.output
            expectedGrad = Reference.maxPool2dBackward(
                gradOutput: dyDouble, indices: forward.indices, inputCount: x.count)
        } else {
            expected = Reference.avgPool2d(input: xDouble, batch: batch, geometry: g)
            expectedGrad = Reference.avgPool2dBackward(gradOutput: dyDouble, batch: batch, geometry: g)
        }
        var comparison = Comparison()
        comparison.add(
            "output",
            channelsLast(
                try backend.read(output), batch: batch, channels: g.channels, pixels: outPixels, inverse: true),
            expected.map { Float($0) })
        comparison.add(
            "grad_input",
            channelsLast(try backend.read(dx), batch: batch, channels: g.channels, pixels: pixels, inverse: true),
            expectedGrad.map { Float($0) })
        return comparison.result(
            kernel: kind == .max ? "max_pool2d" : "avg_pool2d",
            configuration: "n=\(batch),c=\(g.channels),\(g.height)x\(g.width),k=\(g.kernel),s=\(g.stride),"
                + "p=\(g.padding)",
            size: x.count, absoluteBound: Double(g.kernel * g.kernel + 2) * 0x1p-23)
    }

    /// Flattening: a batch of matrices transposed (exact), then transposed back onto an existing value
    /// (accumulate).
    ///
    /// - Parameters:
    ///   - matrices: Matrices in the batch.
    ///   - rows: Rows of each.
    ///   - cols: Columns of each.
    ///   - backend: The backend to check.
    /// - Returns: The result (exact).
    /// - Throws: The backend's error.
    public static func checkTranspose(matrices: Int, rows: Int, cols: Int, backend: Backend) throws -> VerifyResult {
        var random = SplitMix64(seed: UInt64(matrices * rows * cols))
        let x = random.uniforms(matrices * rows * cols)
        let source = try upload(x, backend), transposed = try backend.makeBuffer(count: x.count)
        let back = try upload(x, backend)
        try backend.run(
            .transpose(
                TransposeCommand(
                    source: DeviceSlice(source), destination: DeviceSlice(transposed), matrices: matrices, rows: rows,
                    cols: cols)))
        try backend.run(
            .transpose(
                TransposeCommand(
                    source: DeviceSlice(transposed), destination: DeviceSlice(back), matrices: matrices, rows: cols,
                    cols: rows, accumulate: true)))
        var expected = x
        for m in 0..<matrices {
            for r in 0..<rows {
                for c in 0..<cols { expected[(m * cols + c) * rows + r] = x[(m * rows + r) * cols + c] }
            }
        }
        var comparison = Comparison()
        comparison.add("transposed", try backend.read(transposed), expected)
        comparison.add("accumulated", try backend.read(back), x.map { $0 + $0 })
        return comparison.result(
            kernel: "transpose", configuration: "matrices=\(matrices),rows=\(rows),cols=\(cols)", size: x.count)
    }
}
