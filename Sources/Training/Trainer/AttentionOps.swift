import Foundation
import Kernels

/// Shapes of one attention call: batch × sequence positions, grouped-query heads.
public struct AttentionShape: Sendable {
    public var batch, sequence, heads, kvHeads, headDim: Int
    public init(batch: Int, sequence: Int, heads: Int, kvHeads: Int, headDim: Int) {
        self.batch = batch; self.sequence = sequence; self.heads = heads; self.kvHeads = kvHeads; self.headDim = headDim
    }
    var dim: Int { heads * headDim }
    var kvDim: Int { kvHeads * headDim }
    /// Floats of the saved attention probabilities [batch][heads][T][T].
    public var probabilityCount: Int { batch * heads * sequence * sequence }
}

/// Causal grouped-query attention: out = softmax(q·kᵀ/√headDim, causal)·v per (sequence, head), with the
/// probabilities saved in `probs`. q and out are [B·T][heads·headDim], k and v [B·T][kvHeads·headDim].
///
/// Work is split over (sequence, KV head) so the backward can own its dK/dV slices; the products run
/// through sgemm (the masked upper triangle is computed and discarded, which is cheaper than looping).
public func attentionForward(_ out: UnsafeMutablePointer<Float>, probs: UnsafeMutablePointer<Float>,
                             q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                             shape s: AttentionShape, pool: ThreadPool) {
    let T = s.sequence, hd = s.headDim, group = s.heads / s.kvHeads
    let scale = 1 / Float(hd).squareRoot()
    pool.parallelFor(s.batch * s.kvHeads) { range, _ in
        for unit in range {
            let b = unit / s.kvHeads, g = unit % s.kvHeads
            let kg = k + b * T * s.kvDim + g * hd, vg = v + b * T * s.kvDim + g * hd
            for h in (g * group)..<((g + 1) * group) {
                let qh = q + b * T * s.dim + h * hd, oh = out + b * T * s.dim + h * hd
                let p = probs + (b * s.heads + h) * T * T
                gemm(transposeB: true, m: T, n: T, k: hd, alpha: scale, a: qh, lda: s.dim, b: kg, ldb: s.kvDim, c: p, ldc: T)
                for t in 0..<T { causalSoftmax(p + t * T, valid: t + 1, count: T) }
                gemm(m: T, n: hd, k: T, a: p, lda: T, b: vg, ldb: s.kvDim, c: oh, ldc: s.dim)
            }
        }
    }
}

/// Softmax over the first `valid` entries of a row; the rest become 0 (the causal mask).
private func causalSoftmax(_ row: UnsafeMutablePointer<Float>, valid: Int, count: Int) {
    softmax(row, count: valid)
    (row + valid).update(repeating: 0, count: count - valid)
}

/// The backward of `attentionForward`: writes dQ, dK and dV (overwritten) from dOut.
/// `scratch` needs threadCount · T · T floats.
public func attentionBackward(dQ: UnsafeMutablePointer<Float>, dK: UnsafeMutablePointer<Float>, dV: UnsafeMutablePointer<Float>,
                              dOut: UnsafePointer<Float>, probs: UnsafePointer<Float>,
                              q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                              shape s: AttentionShape, scratch: UnsafeMutablePointer<Float>, pool: ThreadPool) {
    let T = s.sequence, hd = s.headDim, group = s.heads / s.kvHeads
    let scale = 1 / Float(hd).squareRoot()
    pool.parallelFor(s.batch * s.kvHeads) { range, thread in
        let dp = scratch + thread * T * T
        for unit in range {
            let b = unit / s.kvHeads, g = unit % s.kvHeads
            let kg = k + b * T * s.kvDim + g * hd, vg = v + b * T * s.kvDim + g * hd
            let dkg = dK + b * T * s.kvDim + g * hd, dvg = dV + b * T * s.kvDim + g * hd
            for t in 0..<T {
                (dkg + t * s.kvDim).update(repeating: 0, count: hd)
                (dvg + t * s.kvDim).update(repeating: 0, count: hd)
            }
            for h in (g * group)..<((g + 1) * group) {
                let qh = q + b * T * s.dim + h * hd, doh = dOut + b * T * s.dim + h * hd
                let dqh = dQ + b * T * s.dim + h * hd
                let p = probs + (b * s.heads + h) * T * T
                // dP = dO·Vᵀ; dV += Pᵀ·dO
                gemm(transposeB: true, m: T, n: T, k: hd, a: doh, lda: s.dim, b: vg, ldb: s.kvDim, c: dp, ldc: T)
                gemm(transposeA: true, m: T, n: hd, k: T, a: p, lda: T, b: doh, ldb: s.dim, beta: 1, c: dvg, ldc: s.kvDim)
                // Softmax backward: dS = P ⊙ (dP − Σ dP·P); masked entries have P = 0 and stay 0.
                for t in 0..<T {
                    let pr = p + t * T, dr = dp + t * T
                    var dot: Float = 0
                    for j in 0...t { dot += pr[j] * dr[j] }
                    for j in 0...t { dr[j] = pr[j] * (dr[j] - dot) }
                    for j in (t + 1)..<T { dr[j] = 0 }
                }
                // dQ = scale·dS·K; dK += scale·dSᵀ·Q
                gemm(m: T, n: hd, k: T, alpha: scale, a: dp, lda: T, b: kg, ldb: s.kvDim, c: dqh, ldc: s.dim)
                gemm(transposeA: true, m: T, n: hd, k: T, alpha: scale, a: dp, lda: T, b: qh, ldb: s.dim, beta: 1, c: dkg, ldc: s.kvDim)
            }
        }
    }
}
