#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// One block of floats to one block of bytes, following ggml's reference quantizers step for step
// (same float operations, same rounding and clamping) so the bytes equal llama.cpp's.

extension Quantization {
    /// Q8_0: d = amax / 127, q = round-half-away(x / d).
    @inline(__always)
    static func quantizeBlockQ8_0(_ x: UnsafePointer<Float>, into block: UnsafeMutableRawPointer) {
        var amax: Float = 0
        for j in 0..<32 { amax = max(amax, abs(x[j])) }
        let d = amax / 127
        // Multiply by the reciprocal (not divide) and round half away from zero, as ggml does.
        let id: Float = d != 0 ? 1 / d : 0
        block.storeBytes(of: floatToHalf(d), as: UInt16.self)
        let qs = (block + 2).assumingMemoryBound(to: Int8.self)
        for j in 0..<32 { qs[j] = Int8(clampedToInt8(roundf(x[j] * id))) }
    }

    /// Q8_1: Q8_0's values, then the half sum d * Σq (used with Q4_1/Q5_1 weights for their offsets).
    static func quantizeBlockQ8_1(_ x: UnsafePointer<Float>, into block: UnsafeMutableRawPointer) {
        var amax: Float = 0
        for j in 0..<32 { amax = max(amax, abs(x[j])) }
        let d = amax / 127
        let id: Float = d != 0 ? 1 / d : 0
        block.storeBytes(of: floatToHalf(d), as: UInt16.self)
        var sum = 0
        for j in 0..<32 {
            let q = Int8(clampedToInt8(roundf(x[j] * id)))
            block.storeBytes(of: q, toByteOffset: 4 + j, as: Int8.self)
            sum += Int(q)
        }
        block.storeBytes(of: floatToHalf(Float(sum) * d), toByteOffset: 2, as: UInt16.self)
    }

    /// Q4_0: d = m / -8 (m the signed element of largest magnitude), q = min(15, trunc(x / d + 8.5)).
    @inline(__always)
    static func quantizeBlockQ4_0(_ x: UnsafePointer<Float>, into block: UnsafeMutableRawPointer) {
        let d = signedMax(x) / -8
        let id: Float = d != 0 ? 1 / d : 0
        block.storeBytes(of: floatToHalf(d), as: UInt16.self)
        let qs = (block + 2).assumingMemoryBound(to: UInt8.self)
        for j in 0..<16 {
            // ggml truncates toward zero via an int8 cast after adding 8.5, then clamps to 15.
            let low = min(15, Int8(clampedToInt8(x[j] * id + 8.5)))
            let high = min(15, Int8(clampedToInt8(x[j + 16] * id + 8.5)))
            qs[j] = UInt8(truncatingIfNeeded: low) | (UInt8(truncatingIfNeeded: high) << 4)
        }
    }

    /// Q4_1: d = (max - min) / 15 and m = min, q = min(15, trunc((x - min) / d + 0.5)).
    static func quantizeBlockQ4_1(_ x: UnsafePointer<Float>, into block: UnsafeMutableRawPointer) {
        let (lo, hi) = range(x)
        let d = (hi - lo) / 15
        let id: Float = d != 0 ? 1 / d : 0
        block.storeBytes(of: floatToHalf(d), as: UInt16.self)
        block.storeBytes(of: floatToHalf(lo), toByteOffset: 2, as: UInt16.self)
        for j in 0..<16 {
            let low = min(15, Int8(clampedToInt8((x[j] - lo) * id + 0.5)))
            let high = min(15, Int8(clampedToInt8((x[j + 16] - lo) * id + 0.5)))
            block.storeBytes(of: UInt8(truncatingIfNeeded: low) | (UInt8(truncatingIfNeeded: high) << 4),
                             toByteOffset: 4 + j, as: UInt8.self)
        }
    }

    /// Q5_0: d = m / -16, q = min(31, trunc(x / d + 16.5)); low nibbles as Q4_0, fifth bits in a 32-bit word.
    static func quantizeBlockQ5_0(_ x: UnsafePointer<Float>, into block: UnsafeMutableRawPointer) {
        let d = signedMax(x) / -16
        let id: Float = d != 0 ? 1 / d : 0
        block.storeBytes(of: floatToHalf(d), as: UInt16.self)
        var codes = [UInt8](repeating: 0, count: 32)
        for j in 0..<32 { codes[j] = UInt8(truncatingIfNeeded: min(31, Int8(clampedToInt8(x[j] * id + 16.5)))) }
        storeFiveBitCodes(codes, into: block + 2)
    }

    /// Q5_1: d = (max - min) / 31 and m = min, q = min(31, trunc((x - min) / d + 0.5)).
    static func quantizeBlockQ5_1(_ x: UnsafePointer<Float>, into block: UnsafeMutableRawPointer) {
        let (lo, hi) = range(x)
        let d = (hi - lo) / 31
        let id: Float = d != 0 ? 1 / d : 0
        block.storeBytes(of: floatToHalf(d), as: UInt16.self)
        block.storeBytes(of: floatToHalf(lo), toByteOffset: 2, as: UInt16.self)
        var codes = [UInt8](repeating: 0, count: 32)
        for j in 0..<32 { codes[j] = UInt8(truncatingIfNeeded: min(31, Int8(clampedToInt8((x[j] - lo) * id + 0.5)))) }
        storeFiveBitCodes(codes, into: block + 4)
    }

    /// Q8_K (activations of K-quant products): float d = -m / 127 (m the signed element of largest
    /// magnitude), q = min(127, round-half-even(x * -127 / m)), and the sum of each 16 q as int16.
    static func quantizeBlockQ8_K(_ x: UnsafePointer<Float>, into block: UnsafeMutableRawPointer) {
        let m = signedMax(x, count: 256)
        guard m != 0 else {
            block.initializeMemory(as: UInt8.self, repeating: 0, count: GGMLType.q8_K.bytesPerBlock)
            return
        }
        let iscale = -127 / m
        var sums = [Int](repeating: 0, count: 16)
        for j in 0..<256 {
            let v = (iscale * x[j]).rounded(.toNearestOrEven)
            let q = v.isNaN ? 0 : Int8(min(127, max(-128, v)))
            block.storeBytes(of: q, toByteOffset: 4 + j, as: Int8.self)
            sums[j / 16] += Int(q)
        }
        for g in 0..<16 { block.storeBytes(of: Int16(sums[g]), toByteOffset: 260 + 2 * g, as: Int16.self) }
        block.storeBytes(of: 1 / iscale, as: Float.self)
    }

    /// The element of largest magnitude, with its sign (the first one on ties).
    private static func signedMax(_ x: UnsafePointer<Float>, count: Int = 32) -> Float {
        var amax: Float = 0, signed: Float = 0
        for j in 0..<count where amax < abs(x[j]) {
            amax = abs(x[j])
            signed = x[j]
        }
        return signed
    }

    /// The smallest and largest of 32 floats.
    private static func range(_ x: UnsafePointer<Float>) -> (min: Float, max: Float) {
        var lo = Float.greatestFiniteMagnitude, hi = -Float.greatestFiniteMagnitude
        for j in 0..<32 {
            lo = min(lo, x[j])
            hi = max(hi, x[j])
        }
        return (lo, hi)
    }

    /// Writes 32 five-bit codes as Q5_0/Q5_1 do: a little-endian word of the fifth bits (bit j for
    /// element j), then 16 bytes of low nibbles (element j low, element j + 16 high).
    private static func storeFiveBitCodes(_ codes: [UInt8], into out: UnsafeMutableRawPointer) {
        var high: UInt32 = 0
        for j in 0..<32 { high |= UInt32(codes[j] >> 4) << UInt32(j) }
        out.storeBytes(of: high.littleEndian, as: UInt32.self)
        for j in 0..<16 {
            out.storeBytes(of: (codes[j] & 0x0F) | ((codes[j + 16] & 0x0F) << 4), toByteOffset: 4 + j, as: UInt8.self)
        }
    }

    /// Truncates toward zero into Int8's range; NaN (from non-finite input) becomes 0 instead of trapping.
    @inline(__always)
    static func clampedToInt8(_ value: Float) -> Float {
        value.isNaN ? 0 : min(127, max(-128, value.rounded(.towardZero)))
    }
}
