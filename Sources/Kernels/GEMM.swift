import COpenBLAS

/// C = alpha · op(A) · op(B) + beta · C, row-major with leading dimensions, on the calling thread
/// (op(X) is X or, when asked, Xᵀ; op(A) is m×k, op(B) k×n). The one door to BLAS for code outside
/// Kernels: the trainer's products and attention go through it.
@inline(__always)
public func gemm(transposeA: Bool = false, transposeB: Bool = false, m: Int, n: Int, k: Int, alpha: Float = 1,
                 a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int, beta: Float = 0,
                 c: UnsafeMutablePointer<Float>, ldc: Int) {
    cblas_sgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}

/// How many threads OpenBLAS itself may use (the thread pool sets 1 and splits the work itself; the
/// kernel benchmark measures the alternative).
public func setBLASThreads(_ count: Int) {
    openblas_set_num_threads(Int32(count))
}
