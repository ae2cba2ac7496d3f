import Foundation
import Kernels
import Model
import Testing
@testable import Training

/// Central finite differences of a scalar loss of Float buffers, accumulated in Double.
enum FiniteDifference {
    static func randomArray(_ count: Int, seed: UInt64, scale: Float = 1) -> [Float] {
        var rng = SplitMix64(seed: seed)
        return (0..<count).map { _ in (Float(rng.next() >> 40) / Float(1 << 24) * 2 - 1) * scale }
    }

    /// Σ out[i]·r[i] for a fixed random r: a loss whose gradient w.r.t. out is r.
    static func projection(_ out: UnsafePointer<Float>, _ r: [Float]) -> Double {
        var s: Double = 0
        for i in r.indices { s += Double(out[i]) * Double(r[i]) }
        return s
    }

    /// Checks analytic[i] against (loss(x+h) − loss(x−h)) / 2h for every index of `x`.
    static func check(_ values: [Float], analytic: [Float], h: Float = 1e-2,
                      tolerance: Double = 2e-3, _ name: String, loss: ([Float]) -> Double) {
        var worst = 0.0
        var x = values
        for i in x.indices {
            let saved = x[i]
            x[i] = saved + h
            let plus = loss(x)
            x[i] = saved - h
            let minus = loss(x)
            x[i] = saved
            let numeric = (plus - minus) / (2 * Double(h))
            let error = abs(numeric - Double(analytic[i])) / max(1, abs(numeric))
            worst = max(worst, error)
        }
        #expect(worst < tolerance, "\(name): worst relative gradient error \(worst)")
    }
}

@Suite struct OpGradientTests {
    let pool = ThreadPool(threads: 2)

    @Test func linearMatchesPlainLoopsAndFiniteDifferences() {
        let n = 5, inDim = 7, outDim = 6
        let inp = FiniteDifference.randomArray(n * inDim, seed: 1)
        let w = FiniteDifference.randomArray(outDim * inDim, seed: 2)
        let r = FiniteDifference.randomArray(n * outDim, seed: 3)
        var out = [Float](repeating: 0, count: n * outDim)
        linearForward(&out, inp, w, rows: n, inDim: inDim, outDim: outDim, pool: pool)
        for i in 0..<n { for o in 0..<outDim {
            var s: Float = 0
            for c in 0..<inDim { s += inp[i * inDim + c] * w[o * inDim + c] }
            #expect(abs(s - out[i * outDim + o]) < 1e-5)
        } }
        var dInp = [Float](repeating: 0, count: n * inDim), dW = [Float](repeating: 0, count: outDim * inDim)
        linearBackward(dInp: &dInp, dWeight: &dW, dOut: r, inp: inp, weight: w, rows: n, inDim: inDim, outDim: outDim,
                       accumulateInput: false, pool: pool)
        func loss(_ inp: [Float], _ w: [Float]) -> Double {
            var o = [Float](repeating: 0, count: n * outDim)
            linearForward(&o, inp, w, rows: n, inDim: inDim, outDim: outDim, pool: pool)
            return FiniteDifference.projection(o, r)
        }
        FiniteDifference.check(inp, analytic: dInp, "linear dInp") { loss($0, w) }
        FiniteDifference.check(w, analytic: dW, "linear dW") { loss(inp, $0) }
    }

    @Test func rmsNormBackwardMatchesFiniteDifferences() {
        let n = 3, dim = 8
        let x = FiniteDifference.randomArray(n * dim, seed: 4)
        let w = FiniteDifference.randomArray(dim, seed: 5).map { $0 + 1 }
        let r = FiniteDifference.randomArray(n * dim, seed: 6)
        var out = [Float](repeating: 0, count: n * dim), rstd = [Float](repeating: 0, count: n)
        rmsNormForward(&out, rstd: &rstd, x, weight: w, rows: n, dim: dim, epsilon: 1e-5)
        // The forward must match the inference kernel exactly in meaning.
        var reference = [Float](repeating: 0, count: dim)
        rmsNorm(x, weight: w, count: dim, epsilon: 1e-5, into: &reference)
        for j in 0..<dim { #expect(abs(reference[j] - out[j]) < 1e-5) }
        var dX = [Float](repeating: 0, count: n * dim), dW = [Float](repeating: 0, count: dim)
        rmsNormBackward(dX: &dX, dWeight: &dW, dOut: r, x: x, weight: w, rstd: rstd, rows: n, dim: dim)
        func loss(_ x: [Float], _ w: [Float]) -> Double {
            var o = [Float](repeating: 0, count: n * dim), s = [Float](repeating: 0, count: n)
            rmsNormForward(&o, rstd: &s, x, weight: w, rows: n, dim: dim, epsilon: 1e-5)
            return FiniteDifference.projection(o, r)
        }
        FiniteDifference.check(x, analytic: dX, "rmsnorm dX") { loss($0, w) }
        FiniteDifference.check(w, analytic: dW, "rmsnorm dW") { loss(x, $0) }
    }

    @Test func swigluBackwardMatchesFiniteDifferences() {
        let count = 20
        let gate = FiniteDifference.randomArray(count, seed: 7, scale: 3)
        let up = FiniteDifference.randomArray(count, seed: 8, scale: 2)
        let r = FiniteDifference.randomArray(count, seed: 9)
        var dGate = [Float](repeating: 0, count: count), dUp = [Float](repeating: 0, count: count)
        swigluBackward(dGate: &dGate, dUp: &dUp, dH: r, gate: gate, up: up, count: count, pool: pool)
        func loss(_ gate: [Float], _ up: [Float]) -> Double {
            var h = [Float](repeating: 0, count: count)
            swigluForward(&h, gate: gate, up: up, count: count, pool: pool)
            return FiniteDifference.projection(h, r)
        }
        FiniteDifference.check(gate, analytic: dGate, "swiglu dGate") { loss($0, up) }
        FiniteDifference.check(up, analytic: dUp, "swiglu dUp") { loss(gate, $0) }
    }

    @Test func embeddingBackwardSumsRowsOfRepeatedTokens() {
        let dim = 3
        let inputs: [Int32] = [2, 0, 2]
        let dOut: [Float] = [1, 2, 3, 10, 20, 30, 100, 200, 300]
        var dTable = [Float](repeating: 0, count: 4 * dim)
        embeddingBackward(dTable: &dTable, dOut: dOut, inputs: inputs, rows: 3, dim: dim)
        #expect(dTable == [10, 20, 30, 0, 0, 0, 101, 202, 303, 0, 0, 0])
        var out = [Float](repeating: 0, count: 3 * dim)
        let table: [Float] = (0..<12).map(Float.init)
        embeddingForward(&out, inputs: inputs, table: table, rows: 3, dim: dim)
        #expect(out == [6, 7, 8, 0, 1, 2, 6, 7, 8])
    }

    @Test func ropeMatchesInferenceKernelAndItsBackwardIsTheInverse() {
        let seq = 4, heads = 2, headDim = 6
        let table = RoPETable(sequence: seq, headDim: headDim, theta: 10_000)
        let x = FiniteDifference.randomArray(2 * seq * heads * headDim, seed: 10)
        var rotated = x
        table.apply(&rotated, rows: 2 * seq, heads: heads, inverse: false)
        for row in 0..<(2 * seq) {
            var reference = Array(x[(row * heads * headDim)..<((row + 1) * heads * headDim)])
            applyRoPE(&reference, heads: heads, headDim: headDim, position: row % seq, theta: 10_000)
            for j in 0..<(heads * headDim) { #expect(reference[j] == rotated[row * heads * headDim + j]) }
        }
        // Backward: the gradient of Σ r·rope(x) w.r.t. x is rope⁻¹(r).
        let r = FiniteDifference.randomArray(x.count, seed: 11)
        var dX = r
        table.apply(&dX, rows: 2 * seq, heads: heads, inverse: true)
        FiniteDifference.check(x, analytic: dX, "rope") {
            var y = $0
            table.apply(&y, rows: 2 * seq, heads: heads, inverse: false)
            return FiniteDifference.projection(y, r)
        }
    }

    @Test func groupedQueryAttentionMatchesPlainLoopsAndFiniteDifferences() {
        let shape = AttentionShape(batch: 2, sequence: 5, heads: 4, kvHeads: 2, headDim: 4)
        let n = shape.batch * shape.sequence, d = shape.heads * shape.headDim, kv = shape.kvHeads * shape.headDim
        let q = FiniteDifference.randomArray(n * d, seed: 12), k = FiniteDifference.randomArray(n * kv, seed: 13)
        let v = FiniteDifference.randomArray(n * kv, seed: 14)
        let r = FiniteDifference.randomArray(n * d, seed: 15)
        var out = [Float](repeating: 0, count: n * d), probs = [Float](repeating: 0, count: shape.probabilityCount)
        attentionForward(&out, probs: &probs, q: q, k: k, v: v, shape: shape, pool: pool)
        // A plain scalar reference: causal softmax attention, head h reading KV head h / 2.
        for b in 0..<2 { for t in 0..<5 { for h in 0..<4 {
            let g = h / 2
            var scores = (0...t).map { s -> Float in
                var dot: Float = 0
                for j in 0..<4 { dot += q[(b * 5 + t) * d + h * 4 + j] * k[(b * 5 + s) * kv + g * 4 + j] }
                return dot / 2
            }
            let m = scores.max()!
            scores = scores.map { exp($0 - m) }
            let total = scores.reduce(0, +)
            for j in 0..<4 {
                var o: Float = 0
                for s in 0...t { o += scores[s] / total * v[(b * 5 + s) * kv + g * 4 + j] }
                #expect(abs(o - out[(b * 5 + t) * d + h * 4 + j]) < 1e-5)
            }
        } } }
        var dQ = [Float](repeating: 0, count: n * d), dK = [Float](repeating: 0, count: n * kv)
        var dV = [Float](repeating: 0, count: n * kv)
        var scratch = [Float](repeating: 0, count: pool.threadCount * 25)
        attentionBackward(dQ: &dQ, dK: &dK, dV: &dV, dOut: r, probs: probs, q: q, k: k, v: v, shape: shape,
                          scratch: &scratch, pool: pool)
        func loss(_ q: [Float], _ k: [Float], _ v: [Float]) -> Double {
            var o = [Float](repeating: 0, count: n * d), p = [Float](repeating: 0, count: shape.probabilityCount)
            attentionForward(&o, probs: &p, q: q, k: k, v: v, shape: shape, pool: pool)
            return FiniteDifference.projection(o, r)
        }
        FiniteDifference.check(q, analytic: dQ, "attention dQ") { loss($0, k, v) }
        FiniteDifference.check(k, analytic: dK, "attention dK") { loss(q, $0, v) }
        FiniteDifference.check(v, analytic: dV, "attention dV") { loss(q, k, $0) }
    }

    @Test func crossEntropyRowGivesLossAndGradient() {
        let z = FiniteDifference.randomArray(9, seed: 16, scale: 3)
        var grad = z
        let loss = crossEntropyRow(&grad, count: 9, target: 4)
        let expected = log(z.map { Double(exp($0)) }.reduce(0, +)) - Double(z[4])
        #expect(abs(Double(loss) - expected) < 1e-5)
        FiniteDifference.check(z, analytic: grad, h: 1e-3, "cross-entropy") {
            var copy = $0
            return Double(crossEntropyRow(&copy, count: 9, target: 4))
        }
    }

    /// Dense and sparse teachers, at T = 2 and at T = 1 (where the sparse path shares CE's softmax), and a
    /// sparse row without any teacher probability (cross-entropy only).
    @Test(arguments: [(false, 2.0), (true, 2.0), (false, 1.0), (true, 1.0)] as [(Bool, Double)])
    func distillationRowGradientMatchesFiniteDifferences(sparse: Bool, temperature: Double) {
        let vocab = 10
        let settings = DistillationSettings(alpha: 0.7, temperature: Float(temperature))
        let z = FiniteDifference.randomArray(vocab, seed: 17, scale: 3)
        let teacher = FiniteDifference.randomArray(vocab, seed: 18, scale: 4)
        let pairs = [TeacherProbability(token: 1, probability: 3), TeacherProbability(token: 6, probability: 1),
                     TeacherProbability(token: 1, probability: 0), TeacherProbability(token: 9, probability: 4)]
        var scratch = [Float](repeating: 0, count: 2 * vocab)
        func run(_ logits: inout [Float]) -> Float {
            teacher.withUnsafeBufferPointer { t in
                distillationRow(&logits, count: vocab, target: 3, teacherLogits: sparse ? nil : t.baseAddress,
                                sparse: sparse ? pairs : [], settings: settings, scratch: &scratch)
            }
        }
        var grad = z
        let loss = run(&grad)
        // Reference loss in Double.
        let T = temperature
        func logSoftmax(_ x: [Double]) -> [Double] {
            let m = x.max()!
            let lse = m + log(x.map { exp($0 - m) }.reduce(0, +))
            return x.map { $0 - lse }
        }
        let student = logSoftmax(z.map { Double($0) / T })
        var p = [Double](repeating: 0, count: vocab)
        if sparse {
            p[1] = 3.0 / 8
            p[6] = 1.0 / 8
            p[9] = 4.0 / 8
        } else {
            p = logSoftmax(teacher.map { Double($0) / T }).map { exp($0) }
        }
        var kl = 0.0
        for i in 0..<vocab where p[i] > 0 { kl += p[i] * (log(p[i]) - student[i]) }
        let ce = -logSoftmax(z.map(Double.init))[3]
        let expected = 0.7 * T * T * kl + 0.3 * ce
        #expect(abs(Double(loss) - expected) < 1e-4 * max(1, expected))
        FiniteDifference.check(z, analytic: grad, h: 1e-3, "distillation") {
            var copy = $0
            return Double(run(&copy))
        }
    }

    @Test(arguments: [1.0, 2.0] as [Float])
    /// A row without teacher probabilities is ordinary data: cross-entropy at full weight, whatever α.
    func aSparseRowWithoutTeacherIsCrossEntropy(temperature: Float) {
        let vocab = 12
        let z = FiniteDifference.randomArray(vocab, seed: 21, scale: 3)
        var scratch = [Float](repeating: 0, count: 2 * vocab)
        var grad = z
        let loss = distillationRow(&grad, count: vocab, target: 5, teacherLogits: nil,
                                   sparse: [TeacherProbability(token: 2, probability: 0)],
                                   settings: DistillationSettings(alpha: 0.6, temperature: temperature), scratch: &scratch)
        var ceGrad = z
        let ce = crossEntropyRow(&ceGrad, count: vocab, target: 5)
        #expect(abs(loss - ce) < 1e-5)
        for i in 0..<vocab { #expect(abs(grad[i] - ceGrad[i]) < 1e-6) }
    }
}
