/// The geometry of a 2-D convolution or pooling window over NCHW tensors, as `torch.nn.Conv2d` and `MaxPool2d`
/// describe it: a square `kernel`, `stride` and zero `padding` on every side. Shared by the Reference (NCHW) and the
/// device commands (`PatchCommand`, `PoolCommand`).
public struct WindowGeometry: Sendable, Equatable {
    /// Input channels, height and width.
    public var channels: Int, height: Int, width: Int
    /// The window's side, its step, and the zero padding on each side.
    public var kernel: Int, stride: Int, padding: Int

    /// - Parameters:
    ///   - channels: Input channels.
    ///   - height: Input height.
    ///   - width: Input width.
    ///   - kernel: The window's side.
    ///   - stride: The window's step (PyTorch's default for pooling is the kernel size).
    ///   - padding: Zero padding on each side.
    public init(channels: Int, height: Int, width: Int, kernel: Int, stride: Int = 1, padding: Int = 0) {
        (self.channels, self.height, self.width) = (channels, height, width)
        (self.kernel, self.stride, self.padding) = (kernel, stride, padding)
    }

    /// Output height: ⌊(H + 2p − k) / s⌋ + 1.
    public var outputHeight: Int { (height + 2 * padding - kernel) / stride + 1 }
    /// Output width: ⌊(W + 2p − k) / s⌋ + 1.
    public var outputWidth: Int { (width + 2 * padding - kernel) / stride + 1 }

    /// The input position of window offset (ky, kx) at output (oy, ox); nil where it falls in the padding.
    public func source(_ oy: Int, _ ox: Int, _ ky: Int, _ kx: Int) -> (y: Int, x: Int)? {
        let y = oy * stride - padding + ky, x = ox * stride - padding + kx
        return y >= 0 && y < height && x >= 0 && x < width ? (y, x) : nil
    }
}
