import CCLBlast

/// CLBlast's tuned OpenCL GEMM, enqueued on Eta's queue.
public enum CLBlast {
    /// Row-major C[m×n] = alpha · op(A) · op(B) + beta · C on `queue` (offsets and leading dimensions in
    /// floats). Asynchronous, like a kernel launch. Throws a `CLError` naming `CLBlastSgemm` and the status.
    ///
    /// ```swift
    /// try CLBlast.sgemm(queue: context.queue, m: 2, n: 2, k: 2, a: a, lda: 2, b: b, ldb: 2, c: c, ldc: 2)
    /// ```
    ///
    /// - Parameters:
    ///   - queue: The queue to enqueue on.
    ///   - transposeA: Use Aᵀ (A is stored k×m) instead of A (m×k).
    ///   - transposeB: Use Bᵀ (B is stored n×k) instead of B (k×n).
    ///   - m: Rows of C; nothing is enqueued when m or n is 0.
    ///   - n: Columns of C.
    ///   - k: The inner dimension.
    ///   - alpha: The product's scale.
    ///   - a: The buffer holding A.
    ///   - aOffset: A's first element, in floats.
    ///   - lda: A's leading dimension (row stride of the stored matrix), in floats.
    ///   - b: The buffer holding B.
    ///   - bOffset: B's first element, in floats.
    ///   - ldb: B's leading dimension, in floats.
    ///   - beta: C's scale before the product is added (0: C is overwritten).
    ///   - c: The buffer holding C.
    ///   - cOffset: C's first element, in floats.
    ///   - ldc: C's leading dimension, in floats.
    ///   - temporary: Scratch memory of at least `sgemmTemporaryBytes` bytes; nil lets CLBlast allocate its own.
    ///   - withEvent: Whether to return the launch's event (for profiling).
    /// - Returns: The launch's event when `withEvent` is set and something was enqueued, else nil.
    /// - Throws: `CLError` naming `CLBlastSgemm` and CLBlast's status.
    public static func sgemm(
        queue: CommandQueue, transposeA: Bool = false, transposeB: Bool = false,
        m: Int, n: Int, k: Int, alpha: Float = 1,
        a: Buffer, aOffset: Int = 0, lda: Int, b: Buffer, bOffset: Int = 0, ldb: Int,
        beta: Float = 0, c: Buffer, cOffset: Int = 0, ldc: Int, temporary: Buffer? = nil,
        withEvent: Bool = false
    ) throws -> Event? {
        guard m > 0, n > 0 else { return nil }
        var queueHandle: OpaquePointer? = queue.handle
        var event: OpaquePointer?
        let ta = transposeA ? CLBlastTransposeYes : CLBlastTransposeNo,
            tb = transposeB ? CLBlastTransposeYes : CLBlastTransposeNo
        let status = withUnsafeMutablePointer(to: &event) { eventPointer in
            let target = withEvent ? eventPointer : nil
            return temporary.map {
                CLBlastSgemmWithTempBuffer(
                    CLBlastLayoutRowMajor, ta, tb, m, n, k, alpha, a.handle, aOffset, lda, b.handle, bOffset, ldb,
                    beta, c.handle, cOffset, ldc, &queueHandle, target, $0.handle)
            }
                ?? CLBlastSgemm(
                    CLBlastLayoutRowMajor, ta, tb, m, n, k, alpha, a.handle, aOffset, lda, b.handle, bOffset, ldb,
                    beta, c.handle, cOffset, ldc, &queueHandle, target)
        }
        if status.rawValue != 0 {
            throw CLError(call: "CLBlastSgemm(m: \(m), n: \(n), k: \(k))", status: Int32(status.rawValue))
        }
        return event.map(Event.init(handle:))
    }

    /// `batch` independent GEMMs in one launch, the i-th at offsets + i·stride (CLBlastSgemmStridedBatched).
    ///
    /// - Parameters:
    ///   - queue: The queue to enqueue on.
    ///   - transposeA: Use each Aᵀ instead of A.
    ///   - transposeB: Use each Bᵀ instead of B.
    ///   - m: Rows of each C; nothing is enqueued when m, n or batch is 0.
    ///   - n: Columns of each C.
    ///   - k: The inner dimension.
    ///   - alpha: The products' scale.
    ///   - a: The buffer holding every A.
    ///   - aOffset: The first A's first element, in floats.
    ///   - lda: A's leading dimension, in floats.
    ///   - strideA: Floats from one A to the next.
    ///   - b: The buffer holding every B.
    ///   - bOffset: The first B's first element, in floats.
    ///   - ldb: B's leading dimension, in floats.
    ///   - strideB: Floats from one B to the next.
    ///   - beta: Each C's scale before its product is added (0: overwritten).
    ///   - c: The buffer holding every C.
    ///   - cOffset: The first C's first element, in floats.
    ///   - ldc: C's leading dimension, in floats.
    ///   - strideC: Floats from one C to the next.
    ///   - batch: The number of GEMMs.
    ///   - withEvent: Whether to return the launch's event (for profiling).
    /// - Returns: The launch's event when `withEvent` is set and something was enqueued, else nil.
    /// - Throws: `CLError` naming `CLBlastSgemmStridedBatched` and CLBlast's status.
    public static func sgemmStridedBatched(
        queue: CommandQueue, transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        alpha: Float, a: Buffer, aOffset: Int, lda: Int, strideA: Int,
        b: Buffer, bOffset: Int, ldb: Int, strideB: Int, beta: Float,
        c: Buffer, cOffset: Int, ldc: Int, strideC: Int, batch: Int,
        withEvent: Bool = false
    ) throws -> Event? {
        guard m > 0, n > 0, batch > 0 else { return nil }
        var queueHandle: OpaquePointer? = queue.handle
        var event: OpaquePointer?
        let status = withUnsafeMutablePointer(to: &event) { eventPointer in
            CLBlastSgemmStridedBatched(
                CLBlastLayoutRowMajor, transposeA ? CLBlastTransposeYes : CLBlastTransposeNo,
                transposeB ? CLBlastTransposeYes : CLBlastTransposeNo, m, n, k, alpha,
                a.handle, aOffset, lda, strideA, b.handle, bOffset, ldb, strideB, beta,
                c.handle, cOffset, ldc, strideC, batch, &queueHandle, withEvent ? eventPointer : nil)
        }
        if status.rawValue != 0 {
            throw CLError(
                call: "CLBlastSgemmStridedBatched(m: \(m), n: \(n), k: \(k), batch: \(batch))",
                status: Int32(status.rawValue))
        }
        return event.map(Event.init(handle:))
    }

    /// Bytes of temporary memory CLBlast needs for this GEMM (0 for its direct kernel); computed on the host.
    ///
    /// - Parameters:
    ///   - queue: The queue whose device the GEMM would run on.
    ///   - transposeA: As in `sgemm`.
    ///   - transposeB: As in `sgemm`.
    ///   - m: Rows of C.
    ///   - n: Columns of C.
    ///   - k: The inner dimension.
    ///   - aOffset: A's first element, in floats.
    ///   - lda: A's leading dimension, in floats.
    ///   - bOffset: B's first element, in floats.
    ///   - ldb: B's leading dimension, in floats.
    ///   - cOffset: C's first element, in floats.
    ///   - ldc: C's leading dimension, in floats.
    /// - Returns: The temporary buffer's size in bytes.
    /// - Throws: `CLError` naming `CLBlastSGemmTempBufferSize` and CLBlast's status.
    public static func sgemmTemporaryBytes(
        queue: CommandQueue, transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        aOffset: Int, lda: Int, bOffset: Int, ldb: Int, cOffset: Int, ldc: Int
    ) throws -> Int {
        var queueHandle: OpaquePointer? = queue.handle
        var size = 0
        let status = CLBlastSGemmTempBufferSize(
            CLBlastLayoutRowMajor, transposeA ? CLBlastTransposeYes : CLBlastTransposeNo,
            transposeB ? CLBlastTransposeYes : CLBlastTransposeNo, m, n, k, aOffset, lda,
            bOffset, ldb, cOffset, ldc, &queueHandle, &size)
        if status.rawValue != 0 {
            throw CLError(call: "CLBlastSGemmTempBufferSize(m: \(m), n: \(n), k: \(k))", status: Int32(status.rawValue))
        }
        return size * MemoryLayout<Float>.size
    }
}
