import Kernels
import Foundation
@testable import Model

/// A plain, obviously-correct llama forward pass over float arrays: the reference the fast path is checked against.
struct ReferenceTransformer {
    let c: LlamaConfig
    let tensor: (String) -> [Float]

    /// Logits after each token of `tokens`, starting from an empty cache.
    func logits(_ tokens: [Int32], tiedOutput: Bool = false) -> [[Float]] {
        let d = c.dim, hd = c.headDim
        var keys = [[[Float]]](repeating: [], count: c.layers)    // [layer][position][kvDim]
        var values = keys
        let embedding = tensor("token_embd.weight")
        let output = tiedOutput ? embedding : tensor("output.weight")
        var result: [[Float]] = []
        for (pos, token) in tokens.enumerated() {
            var x = Array(embedding[Int(token) * d ..< (Int(token) + 1) * d])
            for l in 0..<c.layers {
                let p = "blk.\(l)."
                let xb = rmsNorm(x, tensor(p + "attn_norm.weight"))
                var q = matvec(tensor(p + "attn_q.weight"), xb, rows: d)
                var k = matvec(tensor(p + "attn_k.weight"), xb, rows: c.kvDim)
                var v = matvec(tensor(p + "attn_v.weight"), xb, rows: c.kvDim)
                if c.architecture.hasQKVBias {
                    q = zip(q, tensor(p + "attn_q.bias")).map(+)
                    k = zip(k, tensor(p + "attn_k.bias")).map(+)
                    v = zip(v, tensor(p + "attn_v.bias")).map(+)
                }
                rope(&q, pos); rope(&k, pos)
                // The engine's cache stores keys and values as half floats.
                keys[l].append(k.map { halfToFloat(floatToHalf($0)) }); values[l].append(v.map { halfToFloat(floatToHalf($0)) })
                var att = [Float](repeating: 0, count: d)
                for h in 0..<c.heads {
                    let kv = h / (c.heads / c.kvHeads)
                    var scores = (0...pos).map { t -> Float in
                        var s: Float = 0
                        for i in 0..<hd { s += q[h * hd + i] * keys[l][t][kv * hd + i] }
                        return s / Float(hd).squareRoot()
                    }
                    let m = scores.max()!
                    scores = scores.map { expf($0 - m) }
                    let total = scores.reduce(0, +)
                    for t in 0...pos { for i in 0..<hd { att[h * hd + i] += scores[t] / total * values[l][t][kv * hd + i] } }
                }
                let o = matvec(tensor(p + "attn_output.weight"), att, rows: d)
                for i in 0..<d { x[i] += o[i] }
                let xf = rmsNorm(x, tensor(p + "ffn_norm.weight"))
                let g = matvec(tensor(p + "ffn_gate.weight"), xf, rows: c.hiddenDim)
                let u = matvec(tensor(p + "ffn_up.weight"), xf, rows: c.hiddenDim)
                let h = (0..<c.hiddenDim).map { g[$0] / (1 + expf(-g[$0])) * u[$0] }
                let down = matvec(tensor(p + "ffn_down.weight"), h, rows: d)
                for i in 0..<d { x[i] += down[i] }
            }
            result.append(matvec(output, rmsNorm(x, tensor("output_norm.weight")), rows: c.vocabularySize))
        }
        return result
    }

    private func rmsNorm(_ x: [Float], _ w: [Float]) -> [Float] {
        let ms = x.reduce(0) { $0 + $1 * $1 } / Float(x.count)
        let s = 1 / (ms + c.normEpsilon).squareRoot()
        return x.indices.map { x[$0] * s * w[$0] }
    }

    private func matvec(_ w: [Float], _ x: [Float], rows: Int) -> [Float] {
        (0..<rows).map { r in
            var s: Float = 0
            for i in 0..<x.count { s += w[r * x.count + i] * x[i] }
            return s
        }
    }

    /// Pairs rotated by position · base^(-2i/headDim), head by head: adjacent pairs (2i, 2i+1) for llama,
    /// (i, i + headDim/2) for qwen2 (llama.cpp's NEOX style).
    private func rope(_ v: inout [Float], _ pos: Int) {
        let hd = c.headDim
        for h in 0..<(v.count / hd) {
            for pair in 0..<(hd / 2) {
                let angle = Float(pos) * powf(c.ropeTheta, -Float(2 * pair) / Float(hd))
                let (i, j) = c.architecture.rotatesHalves ? (pair, pair + hd / 2) : (2 * pair, 2 * pair + 1)
                let a = v[h * hd + i], b = v[h * hd + j]
                v[h * hd + i] = a * cosf(angle) - b * sinf(angle)
                v[h * hd + j] = a * sinf(angle) + b * cosf(angle)
            }
        }
    }
}
