import COpenBLAS

/// Floats per dequantized weight tile: 64K floats (256 KiB) stays in L2 while sgemm streams X past it.
let matmulTileFloats = 65_536

/// Y[n][rows] = X[n][cols] · Wᵀ for a batch of n rows (prompt processing), through cblas_sgemm
/// (quantized weights dequantized to f32 in tiles first).
///
/// The weight rows are split over the pool; each thread dequantizes tiles of its rows into its own
/// scratch and runs a single-threaded sgemm writing its block of Y's columns. Splitting ourselves keeps
/// exactly one BLAS thread per pool thread (OpenBLAS is set to one thread by the pool).
public func matmul(_ w: WeightMatrix, _ x: UnsafePointer<Float>, batch n: Int, into y: UnsafeMutablePointer<Float>, pool: ThreadPool) {
    guard n > 0, w.rows > 0 else { return }
    precondition([.f32, .f16, .q8_0, .q4_0].contains(w.type),
                 "matmul: unsupported weight type \(w.type); expected F32, F16, Q8_0 or Q4_0")
    let rows = w.rows, cols = w.cols
    let work = n * rows * cols
    let threads = work >= 1 << 20 ? pool.threadCount : 1
    if threads == 1 {
        matmulRows(w, x, batch: n, rows: 0..<rows, into: y, scratch: pool.threadScratch[0])
        return
    }
    pool.parallelFor(rows) { range, thread in
        matmulRows(w, x, batch: n, rows: range, into: y, scratch: pool.threadScratch[thread])
    }
}

/// Computes the columns `rowRange` of Y (one per weight row) on the calling thread.
private func matmulRows(_ w: WeightMatrix, _ x: UnsafePointer<Float>, batch n: Int, rows rowRange: Range<Int>,
                        into y: UnsafeMutablePointer<Float>, scratch: ScratchBuffer) {
    let cols = w.cols
    guard cols > 0 else {
        for i in 0..<n { (y + i * w.rows + rowRange.lowerBound).update(repeating: 0, count: rowRange.count) }
        return
    }
    if w.type == .f32 {
        let weights = w.data.assumingMemoryBound(to: Float.self) + rowRange.lowerBound * cols
        sgemmTransposedB(m: n, n: rowRange.count, k: cols, a: x, lda: cols, b: weights, ldb: cols,
                         c: y + rowRange.lowerBound, ldc: w.rows)
        return
    }
    let tileRows = max(1, min(rowRange.count, matmulTileFloats / cols))
    let tile = scratch.floats(tileRows * cols)
    var start = rowRange.lowerBound
    while start < rowRange.upperBound {
        let count = min(tileRows, rowRange.upperBound - start)
        Quantization.dequantize(w.type, w.row(start), count: count * cols, into: tile)
        sgemmTransposedB(m: n, n: count, k: cols, a: x, lda: cols, b: tile, ldb: cols,
                         c: y + start, ldc: w.rows)
        start += count
    }
}

/// C[m][n] = A[m][k] · B[n][k]ᵀ (row-major, with leading dimensions), overwriting C.
@inline(__always)
func sgemmTransposedB(m: Int, n: Int, k: Int, alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
                      b: UnsafePointer<Float>, ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(m), Int32(n), Int32(k), alpha,
                a, Int32(lda), b, Int32(ldb), 0, c, Int32(ldc))
}

/// C[m][n] = A[m][k] · B[k][n] (row-major, with leading dimensions), overwriting C.
@inline(__always)
func sgemm(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int,
           b: UnsafePointer<Float>, ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k), 1,
                a, Int32(lda), b, Int32(ldb), 0, c, Int32(ldc))
}
