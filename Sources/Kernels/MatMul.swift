import CKernels
import COpenBLAS

/// Floats per dequantized weight tile: 64K floats (256 KiB) stays in L2 while sgemm streams X past it.
let matmulTileFloats = 65_536

/// Y[n][rows] = X[n][cols] · Wᵀ for a batch of n rows (prompt processing): quantized weights through
/// integer products where the CPU has AVX-512 VNNI (`integerMatmul`, `generalIntegerMatmul`), otherwise
/// (and f32/f16/bf16) through cblas_sgemm, quantized weights dequantized to f32 in tiles first.
///
/// The weight rows are split over the pool; each thread dequantizes tiles of its rows into its own
/// scratch and runs a single-threaded sgemm writing its block of Y's columns. Splitting ourselves keeps
/// exactly one BLAS thread per pool thread (OpenBLAS is set to one thread by the pool).
public func matmul(_ w: WeightMatrix, _ x: UnsafePointer<Float>, batch n: Int, into y: UnsafeMutablePointer<Float>, pool: ThreadPool) {
    matmul(w, x, batch: n, into: y, pool: pool, allowInteger: true)
}

/// `matmul`, with the integer kernels optionally off (tests run the sgemm path a CPU without VNNI takes).
func matmul(_ w: WeightMatrix, _ x: UnsafePointer<Float>, batch n: Int, into y: UnsafeMutablePointer<Float>, pool: ThreadPool,
            allowInteger: Bool) {
    guard n > 0, w.rows > 0 else { return }
    precondition(GGMLType.computeTypes.contains(w.type),
                 "matmul: unsupported weight type \(w.type); expected one of \(GGMLType.computeTypes)")
    let rows = w.rows, cols = w.cols
    let work = n * rows * cols
    let threads = work >= 1 << 20 ? pool.threadCount : 1
    if allowInteger && w.packed != nil && cols > 0 {
        // The packed rows' kernel, as single tokens use it: each row of a prompt gets a token's bits.
        matvecRowsPacked(w, x, rows: n, into: y, pool: pool, parallel: threads > 1)
        return
    }
    if allowInteger && useVNNIMatmul && (w.type == .q8_0 || w.type == .q4_0) && cols > 0 {
        integerMatmul(w, x, batch: n, into: y, pool: pool, parallel: threads > 1)
        return
    }
    if allowInteger && useVNNIMatmul && generalIntegerMatmulTypes.contains(w.type) && cols > 0 {
        generalIntegerMatmul(w, x, batch: n, into: y, pool: pool, parallel: threads > 1)
        return
    }
    if threads == 1 {
        matmulRows(w, x, batch: n, rows: 0..<rows, into: y, scratch: pool.threadScratch[0])
        return
    }
    // Ranges start at multiples of `matmulRowUnit`, where a one-thread call has a tile edge too: some BLAS
    // kernels (OpenBLAS's generic Prescott one, which it picks on CPUs it does not know) sum a block's
    // remainder in another order, so a range starting mid-tile would change bits with the thread count.
    let units = (rows + matmulRowUnit - 1) / matmulRowUnit
    pool.parallelFor(units) { range, thread in
        let rowRange = (range.lowerBound * matmulRowUnit)..<min(rows, range.upperBound * matmulRowUnit)
        matmulRows(w, x, batch: n, rows: rowRange, into: y, scratch: pool.threadScratch[thread])
    }
}

/// The granule of a float matmul's row split over threads (a multiple of every BLAS kernel's unroll).
let matmulRowUnit = 64

/// Whether Q8_0/Q4_0 batches go through the integer (AVX-512 VNNI) kernels, quantizing activations to
/// Q8_0 as single tokens do; otherwise they multiply f32 activations. Checked once per process.
public let useVNNIMatmul = ck_has_vnni() != 0

/// Whether `matmul` multiplies `type` with integer products on this CPU (else f32 sgemm on dequantized tiles).
public func usesIntegerMatmul(_ type: GGMLType) -> Bool {
    useVNNIMatmul && (type == .q8_0 || type == .q4_0 || generalIntegerMatmulTypes.contains(type))
}

/// The types `ck_gemm_vnni` multiplies.
let generalIntegerMatmulTypes: [GGMLType] = [.q4_1, .q5_0, .q5_1, .q4_K, .q5_K, .q6_K]

/// Y = X · Wᵀ for Q4_1, Q5_0, Q5_1 and the K-quants with integer products (`ck_gemm_vnni`): X is quantized
/// per row as `matvec` quantizes it for that type, so each row gets matvec's integers.
private func generalIntegerMatmul(_ w: WeightMatrix, _ x: UnsafePointer<Float>, batch n: Int, into y: UnsafeMutablePointer<Float>,
                                  pool: ThreadPool, parallel: Bool) {
    let cols = w.cols, blocks = cols / 32, count = n * blocks
    // Shared scratch: the int8 rows, then per block of 32 its scale, sum, two half sums and min term.
    let valueBytes = (n * cols + 63) & ~63
    let scratch = pool.sharedScratch.reserve(valueBytes + count * 20)
    let values = scratch.assumingMemoryBound(to: Int8.self)
    let scales = (scratch + valueBytes).assumingMemoryBound(to: Float.self)
    let sums = (scratch + valueBytes + count * 4).assumingMemoryBound(to: Int32.self)
    let halfSums = (scratch + valueBytes + count * 8).assumingMemoryBound(to: Int32.self)
    let minTerms = (scratch + valueBytes + count * 16).assumingMemoryBound(to: Float.self)
    let kind: Int32 = switch activationType(for: w.type) {
    case .q8_1: Int32(CK_ACTIVATIONS_Q8_1)
    case .q8_K: Int32(CK_ACTIVATIONS_Q8_K)
    default: Int32(CK_ACTIVATIONS_Q8_0)
    }
    // Row by row over the pool when the product is parallel (one thread quantizing stalls the rest at 16).
    let quantize = { (rows: Range<Int>) in
        let block = rows.lowerBound * blocks
        ck_batch_activations(x + rows.lowerBound * cols, rows.count, cols, kind, values + rows.lowerBound * cols,
                             scales + block, sums + block, halfSums + 2 * block, minTerms + block)
    }
    if parallel { pool.parallelRows(n, elementsPerRow: cols, quantize) } else { quantize(0..<n) }
    let type = Int32(w.type.rawValue), data = w.data, rowBytes = w.rowBytes, rows = w.rows
    let packBytes = ck_gemm_pack_bytes(blocks)
    guard parallel else {
        ck_gemm_vnni(type, data, rowBytes, 0, rows, values, scales, sums, halfSums, minTerms, n, blocks, y, rows,
                     pool.threadScratch[0].reserve(packBytes))
        return
    }
    let groups = (rows + 7) / 8
    pool.parallelFor(groups) { range, thread in
        ck_gemm_vnni(type, data, rowBytes, range.lowerBound * 8, min(rows, range.upperBound * 8), values, scales, sums, halfSums,
                     minTerms, n, blocks, y, rows, pool.threadScratch[thread].reserve(packBytes))
    }
}

/// Y = X · Wᵀ for Q8_0/Q4_0 weights with integer dot products, as `matvec` does for one row: X is quantized
/// to Q8_0 per row (ggml's rounding) and the products are vpdpbusd over eight repacked weight rows at
/// a time (see quantized_dot.c). With VNNI this does several times the multiply-adds per instruction
/// of the f32 sgemm path, whose weights would first be dequantized.
private func integerMatmul(_ w: WeightMatrix, _ x: UnsafePointer<Float>, batch n: Int, into y: UnsafeMutablePointer<Float>,
                           pool: ThreadPool, parallel: Bool) {
    let cols = w.cols, blocks = cols / 32
    // Shared scratch: the quantized rows (34 bytes per block), then per block a float scale and an int32 start.
    let quantizedBytes = (n * blocks * 34 + 63) & ~63
    let scratch = pool.sharedScratch.reserve(quantizedBytes + n * blocks * 8)
    let scales = (scratch + quantizedBytes).assumingMemoryBound(to: Float.self)
    let starts = (scratch + quantizedBytes + n * blocks * 4).assumingMemoryBound(to: Int32.self)
    // Rows are contiguous and a whole number of blocks, so any run of rows quantizes as one run.
    let offset: Int32 = w.type == .q4_0 ? 8 : 128
    let quantize = { (rows: Range<Int>) in
        let block = rows.lowerBound * blocks
        ck_quantize_activations_q8_0(x + rows.lowerBound * cols, scratch + block * 34, rows.count * cols)
        ck_activation_terms(scratch + block * 34, rows.count * blocks, offset, scales + block, starts + block)
    }
    if parallel { pool.parallelRows(n, elementsPerRow: cols, quantize) } else { quantize(0..<n) }
    let kernel = w.type == .q8_0 ? ck_gemm_q8_0_vnni : ck_gemm_q4_0_vnni
    let data = w.data, rowBytes = w.rowBytes, rows = w.rows, packBytes = ck_packed_rows_bytes(blocks)
    let xq = UnsafeRawPointer(scratch)
    guard parallel else {
        kernel(data, rowBytes, 0, rows, xq, scales, starts, n, blocks, y, rows, pool.threadScratch[0].reserve(packBytes))
        return
    }
    // Chunks of whole 8-row groups, so that only the last chunk has a partial group.
    let groups = (rows + 7) / 8
    pool.parallelFor(groups) { range, thread in
        kernel(data, rowBytes, range.lowerBound * 8, min(rows, range.upperBound * 8), xq, scales, starts, n, blocks, y, rows,
               pool.threadScratch[thread].reserve(packBytes))
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
