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

/// The products of several matrices with one input, y_k[i] = W_k · x[i] (a layer's query, key and value;
/// its gate and up), each output the bits `matvecRows` gives it alone. Packed matrices of one type and
/// width share the quantized input and one split of their row groups over the pool: one wait for the
/// threads instead of one per matrix. Others go one by one.
public func matvecRows(_ products: [(weights: WeightMatrix, into: UnsafeMutablePointer<Float>)], _ x: UnsafePointer<Float>,
                       rows n: Int, pool: ThreadPool) {
    guard n > 0, let first = products.first?.weights else { return }
    let shared = products.allSatisfy {
        $0.weights.packed != nil && $0.weights.type == first.type && $0.weights.cols == first.cols
    }
    guard shared else {
        for (w, y) in products { matvecRows(w, x, rows: n, into: y, pool: pool) }
        return
    }
    let work = products.reduce(0) { $0 + $1.weights.rows * $1.weights.cols }
    matvecRowsPacked(products, x, rows: n, pool: pool, parallel: work >= matvecParallelThreshold)
}

/// `matvecRowsPacked` for one matrix.
func matvecRowsPacked(_ w: WeightMatrix, _ x: UnsafePointer<Float>, rows n: Int, into y: UnsafeMutablePointer<Float>,
                      pool: ThreadPool, parallel: Bool) {
    matvecRowsPacked([(w, y)], x, rows: n, pool: pool, parallel: parallel)
}

/// Q4_1 or Q8_0 weights against n activation rows (one token when n is 1): the rows are quantized (Q8_1,
/// Q8_0) and laid out for the kernel once, then the weight rows of every product (matrices of one type
/// and width) are split over the pool together. Tokens, verified rows and prompt batches run this same
/// code, so a row gets the same bits in each. Q8_0 comes here only packed; Q4_1 packed where the CPU has
/// AVX-512 VNNI, else through the row-major kernel.
func matvecRowsPacked(_ products: [(weights: WeightMatrix, into: UnsafeMutablePointer<Float>)], _ x: UnsafePointer<Float>,
                      rows n: Int, pool: ThreadPool, parallel: Bool) {
    let w = products[0].weights
    let cols = w.cols, blocks = cols / 32
    let isQ8_0 = w.type == .q8_0, packed = w.packed != nil
    precondition(!isQ8_0 || packed, "matvecRowsPacked: Q8_0 weights must be packed")
    let activation: GGMLType = isQ8_0 ? .q8_0 : .q8_1
    let stride = (activation.rowBytes(cols)! + 63) & ~63
    let preparedOffset = n * stride
    let preparedBytes = isQ8_0 ? ck_q8_0_interleaved_bytes(n, blocks)
        : packed ? ck_q4_1_interleaved_bytes(n, blocks) : ck_q4_1_prepared_bytes(n, blocks)
    let scratch = pool.sharedScratch.reserve(preparedOffset + preparedBytes)
    // A prompt's rows are quantized over the pool (one thread would stall the rest); drafted rows are few.
    pool.parallelRows(n, elementsPerRow: cols) { range in
        for i in range { quantizeActivations(activation, x + i * cols, count: cols, into: scratch + i * stride) }
        if isQ8_0 {
            ck_q8_0_prepare_interleaved(scratch, stride, n, range.lowerBound, range.upperBound, blocks, scratch + preparedOffset)
        } else if packed {
            ck_q4_1_prepare_interleaved(scratch, stride, n, range.lowerBound, range.upperBound, blocks, scratch + preparedOffset)
        } else {
            ck_q4_1_prepare(scratch, stride, n, range.lowerBound, range.upperBound, blocks, scratch + preparedOffset)
        }
    }
    let prepared = UnsafeRawPointer(scratch + preparedOffset)
    // Work units: packed, groups of 16 rows; row-major, single rows. Product k owns units starts[k] ..< starts[k + 1].
    let unitRows = packed ? 16 : 1
    var starts = [0]
    for (m, _) in products { starts.append(starts.last! + (m.rows + unitRows - 1) / unitRows) }
    let kernel = isQ8_0 ? ck_matvec_rows_q8_0_packed : ck_matvec_rows_q4_1_packed
    func run(_ units: Range<Int>) {
        for k in products.indices {
            let lower = max(units.lowerBound, starts[k]), upper = min(units.upperBound, starts[k + 1])
            guard lower < upper else { continue }
            let (m, y) = products[k], outputs = m.rows
            if let rows = m.packed {
                kernel(UnsafeRawPointer(rows.bytes), outputs, lower - starts[k], upper - starts[k], prepared, n, blocks, y, outputs)
            } else {
                ck_matvec_rows_q4_1_prepared(m.data, m.rowBytes, lower - starts[k], upper - starts[k], prepared, n, blocks, y, outputs)
            }
        }
    }
    if parallel {
        pool.parallelFor(starts.last!, chunksPerThread: matvecChunksPerThread) { range, _ in run(range) }
    } else {
        run(0..<starts.last!)
    }
}
