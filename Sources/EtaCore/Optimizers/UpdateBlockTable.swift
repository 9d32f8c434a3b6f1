extension UpdateBlocks {
    /// The block table of `layout`: per tensor when `perTensor`, else the arena split evenly. Four UInt32 per block:
    /// begin and end (elements), and the blocks [first, last) of the block's tensor.
    ///
    /// - Parameters:
    ///   - layout: The arena's tensors.
    ///   - perTensor: Whether blocks stop at tensor boundaries (LAMB's per-tensor norms).
    /// - Returns: Four UInt32 per block of at most ``blockSize`` elements; empty tensors get no block.
    public static func table(for layout: TensorLayout, perTensor: Bool) -> [UInt32] {
        let segments = perTensor ? layout.entries.map { ($0.offset, $0.count) } : [(0, layout.count)]
        var table: [UInt32] = []
        for (offset, count) in segments where count > 0 {
            let first = table.count / 4
            let blocks = (count + blockSize - 1) / blockSize
            for b in 0..<blocks {
                table += [
                    UInt32(offset + b * blockSize), UInt32(offset + min(count, (b + 1) * blockSize)), UInt32(first),
                    UInt32(first + blocks),
                ]
            }
        }
        return table
    }
}
