import Foundation
import Kernels

// Embedding, RMSNorm and SwiGLU, each with its backward. Rows are positions, flattened batch-major.

/// out[i] = embedding row inputs[i].
public func embeddingForward(_ out: UnsafeMutablePointer<Float>, inputs: UnsafePointer<Int32>,
                             table: UnsafePointer<Float>, rows n: Int, dim: Int) {
    for i in 0..<n {
        (out + i * dim).update(from: table + Int(inputs[i]) * dim, count: dim)
    }
}

/// dTable[inputs[i]] += dOut[i].
public func embeddingBackward(dTable: UnsafeMutablePointer<Float>, dOut: UnsafePointer<Float>,
                              inputs: UnsafePointer<Int32>, rows n: Int, dim: Int) {
    for i in 0..<n {
        let row = dTable + Int(inputs[i]) * dim, g = dOut + i * dim
        for j in 0..<dim { row[j] += g[j] }
    }
}

/// out = x / sqrt(mean(x²) + eps) * w per row; saves 1/sqrt(mean(x²) + eps) per row in `rstd`.
public func rmsNormForward(_ out: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>,
                           _ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, rows n: Int, dim: Int, epsilon: Float) {
    for i in 0..<n {
        let xi = x + i * dim, oi = out + i * dim
        var sum: Float = 0
        for j in 0..<dim { sum += xi[j] * xi[j] }
        let s = 1 / (sum / Float(dim) + epsilon).squareRoot()
        rstd[i] = s
        for j in 0..<dim { oi[j] = xi[j] * s * weight[j] }
    }
}

/// The backward of `rmsNormForward`: dX += rstd·(g − x̂·mean(g·x̂)) with g = dOut·w, x̂ = x·rstd; dW += Σ dOut·x̂.
public func rmsNormBackward(dX: UnsafeMutablePointer<Float>, dWeight: UnsafeMutablePointer<Float>,
                            dOut: UnsafePointer<Float>, x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                            rstd: UnsafePointer<Float>, rows n: Int, dim: Int) {
    for i in 0..<n {
        let xi = x + i * dim, gi = dOut + i * dim, di = dX + i * dim
        let s = rstd[i]
        var dot: Float = 0
        for j in 0..<dim {
            let xhat = xi[j] * s
            dot += gi[j] * weight[j] * xhat
            dWeight[j] += gi[j] * xhat
        }
        let mean = dot / Float(dim)
        for j in 0..<dim { di[j] += s * (gi[j] * weight[j] - xi[j] * s * mean) }
    }
}

/// h = silu(gate) · up over `count` floats, split over the pool.
public func swigluForward(_ h: UnsafeMutablePointer<Float>, gate: UnsafePointer<Float>, up: UnsafePointer<Float>,
                          count: Int, pool: ThreadPool) {
    pool.parallelFor(count) { r, _ in
        swiglu(gate: gate + r.lowerBound, up: up + r.lowerBound, count: r.count, into: h + r.lowerBound)
    }
}

/// The backward of `swigluForward`: dGate = dH·up·σ(g)(1 + g(1 − σ(g))), dUp = dH·silu(g) (both overwritten).
public func swigluBackward(dGate: UnsafeMutablePointer<Float>, dUp: UnsafeMutablePointer<Float>, dH: UnsafePointer<Float>,
                           gate: UnsafePointer<Float>, up: UnsafePointer<Float>, count: Int, pool: ThreadPool) {
    pool.parallelFor(count) { r, _ in
        for i in r {
            let g = gate[i]
            let sigma = 1 / (1 + exp(-g))
            dGate[i] = dH[i] * up[i] * sigma * (1 + g * (1 - sigma))
            dUp[i] = dH[i] * g * sigma
        }
    }
}
