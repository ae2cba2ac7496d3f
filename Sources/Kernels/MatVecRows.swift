import CKernels

/// Bytes of weights one tile of `matvecRows` holds: it stays in L1 while every activation row passes it.
let matvecRowsTileBytes = 16_384

/// y[i] = W · x[i] for `n` activation rows (x rows `w.cols` apart, y rows `w.rows` apart), each output row
/// bit for bit what `matvec` gives for that activation alone, with the weights read from memory once for
/// all n rows instead of n times.
///
/// This is the verification pass of speculative decoding: a few drafted tokens checked for about the
/// memory traffic of one, with the logits the single-token path would have computed (the batched
/// `matmul` rounds differently). Each activation row is quantized as `matvec` quantizes it, then the
/// same single-token kernel runs over a tile of weight rows once per activation row; a kernel's output
/// row depends only on its weight row and the activation, so tiling does not change a bit.
public func matvecRows(_ w: WeightMatrix, _ x: UnsafePointer<Float>, rows n: Int, into y: UnsafeMutablePointer<Float>,
                       pool: ThreadPool) {
    guard n > 0 else { return }
    if n == 1 { matvec(w, x, into: y, pool: pool); return }
    let cols = w.cols, rowBytes = w.rowBytes, data = w.data, outputs = w.rows
    let parallel = w.rows * cols >= matvecParallelThreshold
    let tileRows = max(1, matvecRowsTileBytes / max(1, rowBytes))

    /// Runs `kernel(rowRange, activationIndex)` tile by tile over the weight rows, every activation per tile.
    func tiled(_ kernel: (Range<Int>, Int) -> Void) {
        func body(_ range: Range<Int>) {
            var start = range.lowerBound
            while start < range.upperBound {
                let end = min(range.upperBound, start + tileRows)
                for i in 0..<n { kernel(start..<end, i) }
                start = end
            }
        }
        if parallel {
            pool.parallelFor(outputs, chunksPerThread: matvecChunksPerThread) { range, _ in body(range) }
        } else {
            body(0..<outputs)
        }
    }

    switch w.type {
    case .q4_1 where useIntrinsicDots, .q8_0 where w.packed != nil:
        matvecRowsPacked(w, x, rows: n, into: y, pool: pool, parallel: parallel)
    case .q4_1,  // its C kernel has a portable path
         .q8_0 where useIntrinsicDots:
        // Kernels that decode each weight block once for all activation rows.
        let activation = activationType(for: w.type)
        let stride = (activation.rowBytes(cols)! + 63) & ~63
        let xq = pool.sharedScratch.reserve(n * stride)
        for i in 0..<n { quantizeActivations(activation, x + i * cols, count: cols, into: xq + i * stride) }
        let kernel = w.type == .q4_1 ? ck_matvec_rows_q4_1 : ck_matvec_rows_q8_0
        let blocks = cols / w.type.blockSize
        let quantized = UnsafeRawPointer(xq)
        if parallel {
            pool.parallelFor(outputs, chunksPerThread: matvecChunksPerThread) { range, _ in
                kernel(data, rowBytes, range.lowerBound, range.upperBound, quantized, stride, n, blocks, y, outputs)
            }
        } else {
            kernel(data, rowBytes, 0, outputs, quantized, stride, n, blocks, y, outputs)
        }
    case .bf16:
        tiled { range, i in
            ck_matvec_bf16(data, rowBytes, range.lowerBound, range.upperBound, x + i * cols, cols, y + i * outputs)
        }
    case .q4_0 where useIntrinsicDots, .q5_0, .q5_1, .q4_K, .q5_K, .q6_K:
        let activation = activationType(for: w.type)
        let stride = (activation.rowBytes(cols)! + 63) & ~63
        let xq = pool.sharedScratch.reserve(n * stride)
        for i in 0..<n { quantizeActivations(activation, x + i * cols, count: cols, into: xq + i * stride) }
        let kernel = integerMatvecKernel(w.type)
        let blocks = cols / w.type.blockSize
        let quantized = UnsafeRawPointer(xq)
        tiled { range, i in
            kernel(data, rowBytes, range.lowerBound, range.upperBound, quantized + i * stride, blocks, y + i * outputs)
        }
    default:
        // f32, f16 and the portable Q8_0/Q4_0 dots: row by row through matvec itself.
        for i in 0..<n { matvec(w, x + i * cols, into: y + i * outputs, pool: pool) }
    }
}

/// Q4_1 or Q8_0 weights against n activation rows (one token when n is 1): the rows are quantized (Q8_1,
/// Q8_0) and laid out for the kernel once, then the weight rows are split over the pool. Tokens, verified
/// rows and prompt batches run this same code, so a row gets the same bits in each. Q8_0 comes here only
/// packed; Q4_1 packed where the CPU has AVX-512 VNNI, else through the row-major kernel.
func matvecRowsPacked(_ w: WeightMatrix, _ x: UnsafePointer<Float>, rows n: Int, into y: UnsafeMutablePointer<Float>,
                      pool: ThreadPool, parallel: Bool) {
    let cols = w.cols, blocks = cols / 32, outputs = w.rows, rowBytes = w.rowBytes, data = w.data
    let isQ8_0 = w.type == .q8_0
    precondition(!isQ8_0 || w.packed != nil, "matvecRowsPacked: Q8_0 weights must be packed")
    let activation: GGMLType = isQ8_0 ? .q8_0 : .q8_1
    let stride = (activation.rowBytes(cols)! + 63) & ~63
    let preparedOffset = n * stride
    let packed = w.packed
    let preparedBytes = isQ8_0 ? ck_q8_0_interleaved_bytes(n, blocks)
        : packed != nil ? ck_q4_1_interleaved_bytes(n, blocks) : ck_q4_1_prepared_bytes(n, blocks)
    let scratch = pool.sharedScratch.reserve(preparedOffset + preparedBytes)
    // A prompt's rows are quantized over the pool (one thread would stall the rest); drafted rows are few.
    pool.parallelRows(n, elementsPerRow: cols) { range in
        for i in range { quantizeActivations(activation, x + i * cols, count: cols, into: scratch + i * stride) }
        if isQ8_0 {
            ck_q8_0_prepare_interleaved(scratch, stride, n, range.lowerBound, range.upperBound, blocks, scratch + preparedOffset)
        } else if packed != nil {
            ck_q4_1_prepare_interleaved(scratch, stride, n, range.lowerBound, range.upperBound, blocks, scratch + preparedOffset)
        } else {
            ck_q4_1_prepare(scratch, stride, n, range.lowerBound, range.upperBound, blocks, scratch + preparedOffset)
        }
    }
    let prepared = UnsafeRawPointer(scratch + preparedOffset)
    if let packed {
        let groups = (outputs + 15) / 16, bytes = UnsafeRawPointer(packed.bytes)
        let kernel = isQ8_0 ? ck_matvec_rows_q8_0_packed : ck_matvec_rows_q4_1_packed
        if parallel {
            pool.parallelFor(groups, chunksPerThread: matvecChunksPerThread) { range, _ in
                kernel(bytes, outputs, range.lowerBound, range.upperBound, prepared, n, blocks, y, outputs)
            }
        } else {
            kernel(bytes, outputs, 0, groups, prepared, n, blocks, y, outputs)
        }
        return
    }
    if parallel {
        pool.parallelFor(outputs, chunksPerThread: matvecChunksPerThread) { range, _ in
            ck_matvec_rows_q4_1_prepared(data, rowBytes, range.lowerBound, range.upperBound, prepared, n, blocks, y, outputs)
        }
    } else {
        ck_matvec_rows_q4_1_prepared(data, rowBytes, 0, outputs, prepared, n, blocks, y, outputs)
    }
}
