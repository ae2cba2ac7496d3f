import Foundation
import Testing
@testable import Kernels
import CKernels

@Test(arguments: [(6, 6, 8), (6, 2, 8), (6, 3, 48), (4, 1, 16)], [1, 5, 200])
func attentionMatchesReference(shape: (Int, Int, Int), length: Int) {
    let (heads, kvHeads, headDim) = shape
    var random = TestRandom(seed: UInt64(heads * 100 + kvHeads * 10 + length))
    let q = random.floats(heads * headDim, scale: 2)
    let (keyBits, keys) = halves(random.floats(length * kvHeads * headDim, scale: 2))
    let (valueBits, values) = halves(random.floats(length * kvHeads * headDim))
    var out = [Float](repeating: .nan, count: heads * headDim)
    let pool = ThreadPool(threads: 2)
    attention(query: q, keys: keyBits, values: valueBits, length: length, heads: heads, kvHeads: kvHeads,
              headDim: headDim, into: &out, pool: pool)
    let expected = referenceAttention(query: q, keys: keys, values: values, length: length,
                                      heads: heads, kvHeads: kvHeads, headDim: headDim)
    #expect(maxDifference(out, expected) <= 2e-6)
}

@Test(arguments: [(3, 0), (3, 9), (70, 0), (70, 13), (130, 5)], [(6, 2), (6, 6)])
func causalAttentionMatchesReference(batch: (Int, Int), heads shape: (Int, Int)) {
    let (n, start) = batch
    let (heads, kvHeads) = shape
    let headDim = 16, total = start + n
    let qDim = heads * headDim, kvDim = kvHeads * headDim
    var random = TestRandom(seed: UInt64(n * 31 + start))
    let queries = random.floats(n * qDim, scale: 2)
    let (keyBits, keys) = halves(random.floats(total * kvDim, scale: 2))
    let (valueBits, values) = halves(random.floats(total * kvDim))
    var out = [Float](repeating: .nan, count: n * qDim)
    let pool = ThreadPool(threads: 2)
    causalAttention(queries: queries, count: n, start: start, keys: keyBits, values: valueBits,
                    heads: heads, kvHeads: kvHeads, headDim: headDim, into: &out, pool: pool)
    for i in 0..<n {
        // Token i may see positions 0...start+i only.
        let expected = referenceAttention(query: queries, queryOffset: i * qDim, keys: keys, values: values,
                                          length: start + i + 1, heads: heads, kvHeads: kvHeads, headDim: headDim)
        let got = Array(out[(i * qDim)..<((i + 1) * qDim)])
        #expect(maxDifference(got, expected) <= 2e-5, "token \(i)")
    }
}

@Test func attentionOverNothingIsZero() {
    var out = [Float](repeating: .nan, count: 8)
    attention(query: [Float](repeating: 1, count: 8), keys: [UInt16](), values: [UInt16](), length: 0, heads: 2, kvHeads: 1,
              headDim: 4, into: &out, pool: ThreadPool(threads: 1))
    #expect(out == [Float](repeating: 0, count: 8))
}

/// A few rows at once (verification of drafted tokens) give each row the bits it gets alone, for head
/// sizes on and off the vector paths, contexts over several score chunks, and both sides of the
/// parallel threshold; and they match the reference.
@Test(arguments: [(9, 3, 64), (4, 2, 16), (6, 6, 12)], [(1, 0), (5, 3), (8, 700), (11, 260)])
func attentionRowsGiveEachRowItsOwnBits(shape: (Int, Int, Int), rows: (Int, Int)) {
    let (heads, kvHeads, headDim) = shape
    let (n, start) = rows
    let qDim = heads * headDim, kvDim = kvHeads * headDim, total = start + n
    var random = TestRandom(seed: UInt64(heads * 1000 + n * 10 + start))
    let queries = random.floats(n * qDim, scale: 2)
    let (keyBits, keys) = halves(random.floats(total * kvDim, scale: 2))
    let (valueBits, values) = halves(random.floats(total * kvDim))
    let pool = ThreadPool(threads: 2)
    var together = [Float](repeating: .nan, count: n * qDim)
    attentionRows(queries: queries, count: n, start: start, keys: keyBits, values: valueBits, heads: heads, kvHeads: kvHeads,
                  headDim: headDim, into: &together, pool: pool)
    for i in 0..<n {
        var alone = [Float](repeating: .nan, count: qDim)
        queries.withUnsafeBufferPointer { q in
            attention(query: q.baseAddress! + i * qDim, keys: keyBits, values: valueBits, length: start + i + 1, heads: heads,
                      kvHeads: kvHeads, headDim: headDim, into: &alone, pool: pool)
        }
        let row = Array(together[(i * qDim)..<((i + 1) * qDim)])
        #expect(row.map(\.bitPattern) == alone.map(\.bitPattern), "row \(i)")
        let expected = referenceAttention(query: queries, queryOffset: i * qDim, keys: keys, values: values,
                                          length: start + i + 1, heads: heads, kvHeads: kvHeads, headDim: headDim)
        #expect(maxDifference(row, expected) <= 2e-5, "row \(i)")
    }
}

/// The AVX-512 forms of the score and value kernels (several queries and positions per vector) give the
/// AVX2 forms' bits, for any number of queries, positions off the multiple of eight, and queries whose value
/// sums end at different positions (as the rows of a verification pass do).
@Test(arguments: [(64, 3), (48, 4), (64, 7), (16, 2)], [1, 13, 70, 131])
func wideAttentionKernelsGiveTheAVX2Bits(shape: (Int, Int), positions: Int) {
    let (headDim, queries) = shape
    let stride = headDim + 8   // keys and values of several heads side by side, as in the cache
    var random = TestRandom(seed: UInt64(headDim * 1000 + queries * 100 + positions))
    let q = random.floats(queries * headDim, scale: 2)
    let keys = random.floats(positions * stride, scale: 2).map(floatToHalf)
    let values = random.floats(positions * stride).map(floatToHalf)
    var chosen = [Float](repeating: .nan, count: queries * positions), avx2 = chosen
    ck_attention_scores(q, queries, headDim, keys, stride, positions, headDim, 0.125, &chosen, positions)
    ck_attention_scores_avx2(q, queries, headDim, keys, stride, positions, headDim, 0.125, &avx2, positions)
    #expect(chosen.map(\.bitPattern) == avx2.map(\.bitPattern), "scores")

    let weights = random.floats(queries * positions)
    // Pairs of queries end together, as the heads of one row do; the last rows see fewer positions.
    let lengths = (0..<queries).map { max(1, positions - (queries - 1 - $0) / 2) }
    func valueSums(_ kernel: (UnsafePointer<UnsafePointer<Float>?>?, UnsafePointer<Int>?, UnsafePointer<UnsafeMutablePointer<Float>?>?,
                           Int, UnsafePointer<UInt16>?, Int, Int, Int) -> Void) -> [Float] {
        var out = [Float](repeating: .nan, count: queries * headDim)
        weights.withUnsafeBufferPointer { w in
            out.withUnsafeMutableBufferPointer { o in
                let rows = (0..<queries).map { Optional(w.baseAddress! + $0 * positions) }
                let outs = (0..<queries).map { Optional(o.baseAddress! + $0 * headDim) }
                kernel(rows.map { UnsafePointer($0) }, lengths, outs, queries, values, stride, 0, headDim)
            }
        }
        return out
    }
    #expect(valueSums(ck_attention_values).map(\.bitPattern) == valueSums(ck_attention_values_avx2).map(\.bitPattern), "values")
}

/// Half bits of `values` (as the KV cache stores them) and the floats they stand for (the reference's input).
private func halves(_ values: [Float]) -> (bits: [UInt16], floats: [Float]) {
    let bits = values.map(floatToHalf)
    return (bits, bits.map(halfToFloat))
}

/// The attention rows' AVX-512 softmax against a Double reference, for lengths on and off its 16 lanes and
/// for scores far below the maximum (their weights underflow to 0 rather than turning into NaN).
@Test(arguments: [1, 7, 16, 17, 250, 1027])
func wideSoftmaxMatchesTheReference(count: Int) {
    var random = TestRandom(seed: UInt64(count))
    var x = random.floats(count, scale: 12)
    if count > 3 { x[1] = -3_000; x[2] = 40 }
    var y = x
    let ran = ck_softmax_wide(&y, count)
    #expect((ran == 1) == useVNNIMatmul)
    guard ran == 1 else { return }
    let top = Double(x.max()!)
    let e = x.map { exp(Double($0) - top) }, total = e.reduce(0, +)
    for i in 0..<count {
        let want: Double = e[i] / total
        #expect(abs(Double(y[i]) - want) <= 2e-6 * want + 1e-9, "element \(i)")
    }
    #expect(abs(Double(y.reduce(0, +)) - 1) <= 1e-5)
}
