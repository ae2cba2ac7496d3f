import COpenBLAS

// Scaled dot-product attention over a KV cache laid out [position][kvHeads * headDim], with grouped
// query heads (query head h reads kv head h / (heads / kvHeads)). Score rows live in the pool's
// per-thread scratch, so no call allocates once the scratch has grown to the longest context seen.

/// Below this many multiply-adds (length * heads * headDim) single-token attention stays on the
/// calling thread.
let attentionParallelThreshold = 32_768

/// Query rows per sgemm block in causal attention: blocks only multiply against the keys their
/// last row can see, so little of the masked upper triangle is computed.
let causalBlockRows = 64

/// One query token attending to cached positions 0..<length. q: heads*headDim; keys/values: [length][kvHeads*headDim]
/// (grouped-query: head h uses kv head h / (heads/kvHeads)); scores scaled by 1/sqrt(headDim); out: heads*headDim.
///
/// With length 0 the output is all zeros.
public func attention(query q: UnsafePointer<Float>, keys: UnsafePointer<Float>, values: UnsafePointer<Float>, length: Int,
                      heads: Int, kvHeads: Int, headDim: Int, into out: UnsafeMutablePointer<Float>, pool: ThreadPool) {
    checkHeads(heads: heads, kvHeads: kvHeads, caller: "attention")
    let group = heads / kvHeads, kvDim = kvHeads * headDim
    let scale = 1 / Float(headDim).squareRoot()
    func attendHead(_ h: Int, _ scratch: ScratchBuffer) {
        let offset = (h / group) * headDim
        let query = q + h * headDim
        let output = out + h * headDim
        output.update(repeating: 0, count: headDim)
        guard length > 0 else { return }
        let scores = scratch.floats(length)
        // sgemv over the strided cache rows measured 1.3x faster than a dot product per position
        // (134 -> 102 µs for 6 heads x 48 over 512 positions, one thread).
        cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(length), Int32(headDim), scale, keys + offset,
                    Int32(kvDim), query, 1, 0, scores, 1)
        softmax(scores, count: length)
        cblas_sgemv(CblasRowMajor, CblasTrans, Int32(length), Int32(headDim), 1, values + offset,
                    Int32(kvDim), scores, 1, 0, output, 1)
    }
    if length * heads * headDim >= attentionParallelThreshold {
        pool.parallelFor(heads) { range, thread in
            for h in range { attendHead(h, pool.threadScratch[thread]) }
        }
    } else {
        for h in 0..<heads { attendHead(h, pool.threadScratch[0]) }
    }
}

/// Causal attention for a batch of n query tokens at positions start..<start+n over keys/values 0..<start+n
/// (token i sees positions 0...start+i). queries/out: [n][heads*headDim]. Uses sgemm per head for large batches.
///
/// Batches under 8 tokens run token by token through `attention`; larger ones compute, per head and per
/// block of 64 query rows, scores = Q·Kᵀ with sgemm, mask and softmax each row, then out = P·V with sgemm.
/// (head, block) items are split over the pool head-major, so threads get whole heads and equal work.
public func causalAttention(queries: UnsafePointer<Float>, count n: Int, start: Int, keys: UnsafePointer<Float>,
                            values: UnsafePointer<Float>, heads: Int, kvHeads: Int, headDim: Int,
                            into out: UnsafeMutablePointer<Float>, pool: ThreadPool) {
    checkHeads(heads: heads, kvHeads: kvHeads, caller: "causalAttention")
    precondition(n >= 0 && start >= 0, "causalAttention: count \(n) and start \(start) must be non-negative")
    let qDim = heads * headDim, kvDim = kvHeads * headDim, group = heads / kvHeads
    if n < 8 {
        for i in 0..<n {
            attention(query: queries + i * qDim, keys: keys, values: values, length: start + i + 1,
                      heads: heads, kvHeads: kvHeads, headDim: headDim, into: out + i * qDim, pool: pool)
        }
        return
    }
    let scale = 1 / Float(headDim).squareRoot()
    let blocks = (n + causalBlockRows - 1) / causalBlockRows
    func attendBlock(_ item: Int, _ scratch: ScratchBuffer) {
        let h = item / blocks, first = (item % blocks) * causalBlockRows
        let rows = min(causalBlockRows, n - first)
        let visible = start + first + rows
        let offset = (h / group) * headDim
        let scores = scratch.floats(rows * visible)
        sgemmTransposedB(m: rows, n: visible, k: headDim, alpha: scale,
                         a: queries + first * qDim + h * headDim, lda: qDim,
                         b: keys + offset, ldb: kvDim, c: scores, ldc: visible)
        for r in 0..<rows {
            let row = scores + r * visible
            let seen = start + first + r + 1
            softmax(row, count: seen)
            (row + seen).update(repeating: 0, count: visible - seen)
        }
        sgemm(m: rows, n: headDim, k: visible, a: scores, lda: visible,
              b: values + offset, ldb: kvDim, c: out + first * qDim + h * headDim, ldc: qDim)
    }
    pool.parallelFor(heads * blocks) { range, thread in
        for item in range { attendBlock(item, pool.threadScratch[thread]) }
    }
}

private func checkHeads(heads: Int, kvHeads: Int, caller: String) {
    precondition(heads > 0 && kvHeads > 0 && heads % kvHeads == 0,
                 "\(caller): heads \(heads) must be a positive multiple of kvHeads \(kvHeads)")
}
