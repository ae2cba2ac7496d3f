#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// The small per-token kernels of a llama layer. Each is a single pass over a few hundred floats, so
// they run on the calling thread: waking the pool would cost more than the work.

/// out = x / sqrt(mean(x²) + epsilon) * weight, as llama.cpp's RMS norm; out may alias x.
public func rmsNorm(_ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, count: Int, epsilon: Float, into out: UnsafeMutablePointer<Float>) {
    guard count > 0 else { return }
    let meanSquare = dotF32(x, x, count: count) / Float(count)
    let scale = 1 / (meanSquare + epsilon).squareRoot()
    let rx = UnsafeRawPointer(x), rw = UnsafeRawPointer(weight), ro = UnsafeMutableRawPointer(out)
    var i = 0
    while i + 8 <= count {
        let v = rx.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
        let g = rw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
        ro.storeBytes(of: v * scale * g, toByteOffset: i * 4, as: SIMD8<Float>.self)
        i += 8
    }
    while i < count {
        out[i] = x[i] * scale * weight[i]
        i += 1
    }
}

/// In place, numerically stable softmax of `count` floats (subtracts the maximum before exponentiating).
public func softmax(_ x: UnsafeMutablePointer<Float>, count: Int) {
    _ = softmax(x, scale: 1, count: count, into: x)
}

/// out = softmax(x · scale), stable; returns log Σ exp(x · scale), which turns the probabilities back
/// into log-probabilities (log out[i] = x[i] · scale − result). out may alias x.
@discardableResult
public func softmax(_ x: UnsafePointer<Float>, scale factor: Float, count: Int, into out: UnsafeMutablePointer<Float>) -> Float {
    guard count > 0 else { return -.infinity }
    let rx = UnsafeRawPointer(x), ro = UnsafeMutableRawPointer(out)
    var i = 0
    var maxima = SIMD8<Float>(repeating: -.infinity)
    while i + 8 <= count {
        // A compare-and-blend: `pointwiseMax` stays a generic call per vector (measured).
        let v = rx.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self) * factor
        maxima.replace(with: v, where: v .> maxima)
        i += 8
    }
    var maximum = maxima.max()
    while i < count {
        maximum = max(maximum, x[i] * factor)
        i += 1
    }
    i = 0
    var sums = SIMD8<Float>()
    while i + 8 <= count {
        let e = vectorExp(rx.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self) * factor - maximum)
        ro.storeBytes(of: e, toByteOffset: i * 4, as: SIMD8<Float>.self)
        sums += e
        i += 8
    }
    var sum = sums.sum()
    while i < count {
        out[i] = scalarExp(x[i] * factor - maximum)
        sum += out[i]
        i += 1
    }
    scale(out, count: count, by: 1 / sum)
    return maximum + log(sum)
}

/// x[i] *= factor.
@inline(__always)
public func scale(_ x: UnsafeMutablePointer<Float>, count: Int, by factor: Float) {
    let raw = UnsafeMutableRawPointer(x)
    var i = 0
    while i + 8 <= count {
        let v = raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
        raw.storeBytes(of: v * factor, toByteOffset: i * 4, as: SIMD8<Float>.self)
        i += 8
    }
    while i < count {
        x[i] *= factor
        i += 1
    }
}

/// llama.cpp's rope mode 0 ("normal"): rotates adjacent pairs (x[2i], x[2i+1]) of each head by
/// position * theta^(-2i/headDim). `x` holds `heads` heads of `headDim` floats.
public func applyRoPE(_ x: UnsafeMutablePointer<Float>, heads: Int, headDim: Int, position: Int, theta: Float) {
    precondition(headDim % 2 == 0, "applyRoPE: headDim \(headDim) must be even")
    // The angle depends only on the pair index, so compute each sine/cosine once for all heads.
    for pair in 0..<(headDim / 2) {
        let angle = ropeAngle(position: position, pair: pair, headDim: headDim, theta: theta)
        rotatePair(x, pair: pair, heads: heads, headDim: headDim, cos: Float(cos(angle)), sin: Float(sin(angle)))
    }
}

/// RoPE's angle for pair `pair` at `position`: position * theta^(-2·pair/headDim), in Double (the
/// cosine and sine are rounded to Float after), shared by `applyRoPE` and `RoPETable`.
@inline(__always)
func ropeAngle(position: Int, pair: Int, headDim: Int, theta: Float) -> Double {
    Double(position) * pow(Double(theta), -2 * Double(pair) / Double(headDim))
}

/// Rotates the adjacent pair `pair` (x[2·pair], x[2·pair+1]) of each of `heads` heads, `headDim` floats
/// apart, by the angle whose cosine and sine are given.
@inline(__always)
func rotatePair(_ x: UnsafeMutablePointer<Float>, pair: Int, heads: Int, headDim: Int, cos c: Float, sin s: Float) {
    var p = x + 2 * pair
    for _ in 0..<heads {
        let x0 = p[0], x1 = p[1]
        p[0] = x0 * c - x1 * s
        p[1] = x0 * s + x1 * c
        p += headDim
    }
}

/// out = silu(gate) * up, silu(g) = g / (1 + e^-g); out may alias either input.
public func swiglu(gate: UnsafePointer<Float>, up: UnsafePointer<Float>, count: Int, into out: UnsafeMutablePointer<Float>) {
    let rg = UnsafeRawPointer(gate), ru = UnsafeRawPointer(up), ro = UnsafeMutableRawPointer(out)
    var i = 0
    while i + 8 <= count {
        let g = rg.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
        let u = ru.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
        ro.storeBytes(of: g * u / (1 + vectorExp(-g)), toByteOffset: i * 4, as: SIMD8<Float>.self)
        i += 8
    }
    while i < count {
        out[i] = gate[i] * up[i] / (1 + scalarExp(-gate[i]))
        i += 1
    }
}

/// out = a + b element-wise; out may alias a or b.
public func add(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int, into out: UnsafeMutablePointer<Float>) {
    let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b), ro = UnsafeMutableRawPointer(out)
    var i = 0
    while i + 8 <= count {
        let sum = ra.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
            + rb.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
        ro.storeBytes(of: sum, toByteOffset: i * 4, as: SIMD8<Float>.self)
        i += 8
    }
    while i < count {
        out[i] = a[i] + b[i]
        i += 1
    }
}
