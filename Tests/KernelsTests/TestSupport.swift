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

/// Random stored weights of `type` for `count` elements: quantized random floats where we have a
/// quantizer, otherwise random blocks (every code and packed scale pattern) with small finite half scales.
func randomWeights(_ type: GGMLType, count: Int, random: inout TestRandom, scale: Float = 0.5) -> [UInt8] {
    if Quantization.quantizableTypes.contains(type) {
        return quantized(type, random.floats(count, scale: scale))
    }
    var bytes = (0..<type.rowBytes(count)!).map { _ in UInt8(truncatingIfNeeded: random.next()) }
    // Offsets of the half scales in each block; the K-quants' d and dmin scale 6-bit (or int8) sub-scales.
    let halves: [Int] = switch type {
    case .q4_K, .q5_K: [0, 2]
    case .q6_K: [208]
    default: []
    }
    let size = type.bytesPerBlock
    for block in 0..<(count / type.blockSize) {
        for offset in halves {
            let h = floatToHalf(random.float(scale / 300))
            bytes[block * size + offset] = UInt8(h & 0xFF)
            bytes[block * size + offset + 1] = UInt8(h >> 8)
        }
    }
    return bytes
}

/// Weight types with integer (quantized-activation) kernels.
let integerTypes: [GGMLType] = [.q8_0, .q4_0, .q4_1, .q5_0, .q5_1, .q4_K, .q5_K, .q6_K]

/// Every type the kernels multiply with.
let computeTypesUnderTest: [GGMLType] = [.f32, .f16, .bf16] + integerTypes

/// Shapes with awkward row counts: (rows, cols), cols a few blocks of `type`.
func awkwardShapes(_ type: GGMLType) -> [(Int, Int)] {
    type.blockSize == 256 ? [(37, 256), (300, 512), (13, 1536)] : [(37, 96), (300, 288), (64, 768)]
}
