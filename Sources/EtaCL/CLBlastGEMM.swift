import CCLBlast

/// CLBlast's tuned OpenCL GEMM, enqueued on Eta's queue.
public enum CLBlast {
    /// Row-major C[m×n] = alpha · op(A) · op(B) + beta · C on `queue` (offsets and leading dimensions in
    /// floats). Asynchronous, like a kernel launch. Throws a `CLError` naming `CLBlastSgemm` and the status.
    ///
    /// ```swift
    /// try CLBlast.sgemm(queue: context.queue, m: 2, n: 2, k: 2, a: a, lda: 2, b: b, ldb: 2, c: c, ldc: 2)
    /// ```
    public static func sgemm(queue: CommandQueue, transposeA: Bool = false, transposeB: Bool = false,
                             m: Int, n: Int, k: Int, alpha: Float = 1,
                             a: Buffer, aOffset: Int = 0, lda: Int, b: Buffer, bOffset: Int = 0, ldb: Int,
                             beta: Float = 0, c: Buffer, cOffset: Int = 0, ldc: Int) throws {
        guard m > 0, n > 0 else { return }
        var queueHandle: OpaquePointer? = queue.handle
        let status = CLBlastSgemm(CLBlastLayoutRowMajor,
                                  transposeA ? CLBlastTransposeYes : CLBlastTransposeNo,
                                  transposeB ? CLBlastTransposeYes : CLBlastTransposeNo,
                                  m, n, k, alpha, a.handle, aOffset, lda, b.handle, bOffset, ldb,
                                  beta, c.handle, cOffset, ldc, &queueHandle, nil)
        if status.rawValue != 0 {
            throw CLError(call: "CLBlastSgemm(m: \(m), n: \(n), k: \(k))", status: Int32(status.rawValue))
        }
    }
}
