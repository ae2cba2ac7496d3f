// Deterministic test data and plain scalar references shared by the kernel tests.
import Model
@testable import Kernels

/// Reproducible pseudo-random floats without global state.
struct TestRandom {
    private var generator: SplitMix64
    init(seed: UInt64) { generator = SplitMix64(seed: seed) }

    mutating func next() -> UInt64 { generator.next() }

    /// Uniform in [-scale, scale).
    mutating func float(_ scale: Float = 1) -> Float {
        (Float(next() >> 40) / Float(1 << 24) * 2 - 1) * scale
    }

    mutating func floats(_ count: Int, scale: Float = 1) -> [Float] {
        (0..<count).map { _ in float(scale) }
    }
}

/// The stored bytes of `values` quantized as `type`.
func quantized(_ type: GGMLType, _ values: [Float]) -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: type.rowBytes(values.count)!)
    values.withUnsafeBufferPointer { src in
        bytes.withUnsafeMutableBytes { dst in
            Quantization.quantize(type, src.baseAddress!, count: values.count, into: dst.baseAddress!)
        }
    }
    return bytes
}

/// `bytes` of `type` read back as floats.
func dequantized(_ type: GGMLType, _ bytes: [UInt8], count: Int) -> [Float] {
    var out = [Float](repeating: 0, count: count)
    bytes.withUnsafeBytes { src in
        out.withUnsafeMutableBufferPointer { dst in
            Quantization.dequantize(type, src.baseAddress!, count: count, into: dst.baseAddress!)
        }
    }
    return out
}

/// Largest |a[i] - b[i]|.
func maxDifference(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count)
    return zip(a, b).map { abs($0 - $1) }.max() ?? 0
}

/// Scalar reference attention for one query over `length` positions, in Double.
func referenceAttention(query: [Float], queryOffset: Int = 0, keys: [Float], values: [Float], length: Int,
                        heads: Int, kvHeads: Int, headDim: Int) -> [Float] {
    let group = heads / kvHeads, kvDim = kvHeads * headDim
    var out = [Float](repeating: 0, count: heads * headDim)
    for h in 0..<heads {
        let kv = (h / group) * headDim
        var scores = [Double](repeating: 0, count: length)
        for t in 0..<length {
            var s = 0.0
            for d in 0..<headDim {
                s += Double(query[queryOffset + h * headDim + d]) * Double(keys[t * kvDim + kv + d])
            }
            scores[t] = s / Double(headDim).squareRoot()
        }
        let m = scores.max() ?? 0
        let e = scores.map { doubleExp($0 - m) }
        let total = e.reduce(0, +)
        for d in 0..<headDim {
            var acc = 0.0
            for t in 0..<length { acc += e[t] / total * Double(values[t * kvDim + kv + d]) }
            out[h * headDim + d] = Float(acc)
        }
    }
    return out
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

func doubleExp(_ x: Double) -> Double { exp(x) }
