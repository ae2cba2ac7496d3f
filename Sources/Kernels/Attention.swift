import CKernels
import COpenBLAS

// Scaled dot-product attention over a KV cache laid out [position][kvHeads * headDim] in IEEE half
// floats (UInt16 bits, as llama.cpp's cache by default: half the memory and half the bytes read), with
// grouped query heads (query head h reads kv head h / (heads / kvHeads)). Queries, scores and outputs
// are Float. Score rows live in the pool's scratch buffers, so no call allocates once they have grown to
// the longest context seen.

/// Below this many multiply-adds (rows * length * heads * headDim) attention of a few rows stays on the
/// calling thread.
let attentionParallelThreshold = 32_768

/// Query rows per sgemm block in causal attention: blocks only multiply against the keys their
/// last row can see, so little of the masked upper triangle is computed.
let causalBlockRows = 64

/// One query token attending to cached positions 0..<length. q: heads*headDim; keys/values: [length][kvHeads*headDim]
/// (grouped-query: head h uses kv head h / (heads/kvHeads)); scores scaled by 1/sqrt(headDim); out: heads*headDim.
///
/// With length 0 the output is all zeros.
public func attention(query q: UnsafePointer<Float>, keys: UnsafePointer<UInt16>, values: UnsafePointer<UInt16>, length: Int,
                      heads: Int, kvHeads: Int, headDim: Int, into out: UnsafeMutablePointer<Float>, pool: ThreadPool) {
    checkHeads(heads: heads, kvHeads: kvHeads, caller: "attention")
    guard length > 0 else { return out.update(repeating: 0, count: heads * headDim) }
    attentionRows(queries: q, count: 1, start: length - 1, keys: keys, values: values, heads: heads, kvHeads: kvHeads,
                  headDim: headDim, into: out, pool: pool)
}

/// Positions per work item when the scores of a few query rows are split over the pool.
let attentionScoreChunk = 256

/// Attention of `count` query rows at positions start..<start+count over the cache (row i sees positions
/// 0...start+i). queries/out: [count][heads*headDim]; keys/values: [start+count][kvHeads*headDim].
///
/// Each row gets the very bits it gets alone (`count` 1), which is what lets a verification pass of
/// drafted tokens reproduce token-by-token generation (`ck_attention_scores`/`ck_attention_values`
/// compute every score and output lane in a fixed order). Keys and values are read once per kv head
/// for all its query heads and all rows. Three steps, each split over the pool: scores per (kv head,
/// 256 positions), softmax per (row, head), weighted values per (kv head, 32 lanes of the head).
public func attentionRows(queries q: UnsafePointer<Float>, count n: Int, start: Int, keys: UnsafePointer<UInt16>,
                          values: UnsafePointer<UInt16>, heads: Int, kvHeads: Int, headDim: Int,
                          into out: UnsafeMutablePointer<Float>, pool: ThreadPool) {
    checkHeads(heads: heads, kvHeads: kvHeads, caller: "attentionRows")
    precondition(n >= 0 && start >= 0, "attentionRows: count \(n) and start \(start) must be non-negative")
    guard n > 0 else { return }
    let group = heads / kvHeads, qDim = heads * headDim, kvDim = kvHeads * headDim
    let length = start + n
    let scale = 1 / Float(headDim).squareRoot()
    // Score rows [row][head][length], shared by the threads (each item writes its own part).
    let scores = pool.sharedScratch.floats(n * heads * length)
    let chunks = (length + attentionScoreChunk - 1) / attentionScoreChunk
    func scoreItem(_ item: Int) {
        let g = item / chunks, first = (item % chunks) * attentionScoreChunk
        // The positions every row sees in one call for all rows' heads of the group (each key converted once
        // for all of them), then each row's further positions; a score's bits do not depend on the split.
        let common = max(0, min(first + attentionScoreChunk, start + 1) - first)
        if common > 0 {
            withUnsafeTemporaryAllocation(of: UnsafePointer<Float>?.self, capacity: n * group) { queries in
                withUnsafeTemporaryAllocation(of: UnsafeMutablePointer<Float>?.self, capacity: n * group) { rows in
                    for i in 0..<n {
                        for k in 0..<group {
                            queries[i * group + k] = UnsafePointer(q + i * qDim + (g * group + k) * headDim)
                            rows[i * group + k] = scores + (i * heads + g * group + k) * length + first
                        }
                    }
                    ck_attention_scores_gathered(queries.baseAddress, rows.baseAddress, n * group, keys + first * kvDim + g * headDim,
                                                 kvDim, common, headDim, scale)
                }
            }
        }
        for i in 0..<n {
            let visible = min(first + attentionScoreChunk, start + i + 1) - first
            guard visible > common else { continue }
            ck_attention_scores(q + i * qDim + g * group * headDim, group, headDim, keys + (first + common) * kvDim + g * headDim, kvDim,
                                visible - common, headDim, scale, scores + (i * heads + g * group) * length + first + common, length)
        }
    }
    func softmaxItem(_ item: Int) {
        let row = scores + item * length, count = start + item / heads + 1
        // AVX-512 where the CPU has it (the attention kernels' machines), else the SIMD8 softmax.
        if ck_softmax_wide(row, count) == 0 { softmax(row, count: count) }
    }
    // The lanes of a head split the same way for any row count, so a lane's arithmetic never depends on it.
    let slice = headDim >= 64 && headDim % 32 == 0 ? 32 : headDim
    let slices = headDim / slice
    func valueItem(_ item: Int) {
        let g = item / slices, lanes = (item % slices) * slice
        let queries = n * group
        withUnsafeTemporaryAllocation(of: UnsafePointer<Float>?.self, capacity: queries) { weights in
            withUnsafeTemporaryAllocation(of: UnsafeMutablePointer<Float>?.self, capacity: queries) { outs in
                withUnsafeTemporaryAllocation(of: Int.self, capacity: queries) { lengths in
                    for i in 0..<n {
                        for k in 0..<group {
                            let h = g * group + k, j = i * group + k
                            weights[j] = UnsafePointer(scores + (i * heads + h) * length)
                            outs[j] = out + i * qDim + h * headDim
                            lengths[j] = start + i + 1
                        }
                    }
                    ck_attention_values(weights.baseAddress, lengths.baseAddress, outs.baseAddress, queries,
                                        values + g * headDim, kvDim, lanes, lanes + slice)
                }
            }
        }
    }
    if n * length * heads * headDim >= attentionParallelThreshold {
        pool.parallelFor(kvHeads * chunks) { range, _ in for item in range { scoreItem(item) } }
        pool.parallelFor(n * heads) { range, _ in for item in range { softmaxItem(item) } }
        pool.parallelFor(kvHeads * slices) { range, _ in for item in range { valueItem(item) } }
    } else {
        for item in 0..<(kvHeads * chunks) { scoreItem(item) }
        for item in 0..<(n * heads) { softmaxItem(item) }
        for item in 0..<(kvHeads * slices) { valueItem(item) }
    }
}

/// Causal attention for a batch of n query tokens at positions start..<start+n over keys/values 0..<start+n
/// (token i sees positions 0...start+i). queries/out: [n][heads*headDim]. Uses sgemm per head for large batches
/// (on a float copy of the visible cache).
///
/// Batches under 8 tokens run through `attentionRows`; larger ones compute, per head and per
/// block of 64 query rows, scores = Q·Kᵀ with sgemm, mask and softmax each row, then out = P·V with sgemm.
/// (head, block) items are split over the pool head-major, so threads get whole heads and equal work.
public func causalAttention(queries: UnsafePointer<Float>, count n: Int, start: Int, keys halfKeys: UnsafePointer<UInt16>,
                            values halfValues: UnsafePointer<UInt16>, heads: Int, kvHeads: Int, headDim: Int,
                            into out: UnsafeMutablePointer<Float>, pool: ThreadPool) {
    checkHeads(heads: heads, kvHeads: kvHeads, caller: "causalAttention")
    precondition(n >= 0 && start >= 0, "causalAttention: count \(n) and start \(start) must be non-negative")
    let qDim = heads * headDim, kvDim = kvHeads * headDim, group = heads / kvHeads
    if n < 8 {
        return attentionRows(queries: queries, count: n, start: start, keys: halfKeys, values: halfValues, heads: heads,
                             kvHeads: kvHeads, headDim: headDim, into: out, pool: pool)
    }
    // sgemm wants floats: the visible cache rows, converted once for all heads and blocks.
    let total = (start + n) * kvDim
    let floats = pool.sharedScratch.floats(2 * total)
    let keys = UnsafePointer(floats), values = UnsafePointer(floats + total)
    ck_halves_to_floats(halfKeys, floats, total)
    ck_halves_to_floats(halfValues, floats + total, total)
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
