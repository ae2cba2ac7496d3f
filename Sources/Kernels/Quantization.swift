#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Quantize / dequantize rows in ggml's exact layouts.
///
/// Q8_0 block (34 bytes): half scale d = amax / 127, then 32 int8 q = round(x / d).
/// Q4_0 block (18 bytes): half scale d = m / -8 (m = the element of largest magnitude, signed), then
/// 16 bytes where byte j holds element j (low nibble) and element j + 16 (high nibble), q = (x / d) + 8.
/// Both follow ggml's reference quantizers (`quantize_row_q8_0_ref`, `quantize_row_q4_0_ref`) so files
/// we write are byte-identical to llama.cpp's.
public enum Quantization {
    /// Writes `count` floats (a multiple of the type's block size) as `type` (f32, f16, q8_0, q4_0).
    public static func quantize(_ type: GGMLType, _ src: UnsafePointer<Float>, count: Int, into dst: UnsafeMutableRawPointer) {
        precondition(count >= 0 && count % type.blockSize == 0,
                     "quantize: count \(count) is not a multiple of \(type)'s block size \(type.blockSize)")
        switch type {
        case .f32:
            dst.copyMemory(from: src, byteCount: count * 4)
        case .f16:
            let out = dst.assumingMemoryBound(to: UInt16.self)
            for i in 0..<count { out[i] = floatToHalf(src[i]) }
        case .q8_0:
            for block in 0..<(count / 32) {
                quantizeBlockQ8_0(src + block * 32, into: dst + block * 34)
            }
        case .q4_0:
            for block in 0..<(count / 32) {
                quantizeBlockQ4_0(src + block * 32, into: dst + block * 18)
            }
        default:
            preconditionFailure("quantize: unsupported type \(type); expected F32, F16, Q8_0 or Q4_0")
        }
    }

    /// Reads `count` elements of `type` (f32, f16, q8_0, q4_0) as floats.
    public static func dequantize(_ type: GGMLType, _ src: UnsafeRawPointer, count: Int, into dst: UnsafeMutablePointer<Float>) {
        precondition(count >= 0 && count % type.blockSize == 0,
                     "dequantize: count \(count) is not a multiple of \(type)'s block size \(type.blockSize)")
        switch type {
        case .f32:
            UnsafeMutableRawPointer(dst).copyMemory(from: src, byteCount: count * 4)
        case .f16:
            for i in 0..<count {
                dst[i] = halfToFloat(src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
            }
        case .q8_0:
            for block in 0..<(count / 32) {
                let base = src + block * 34
                let d = halfToFloat(base.loadUnaligned(as: UInt16.self))
                let qs = (base + 2).assumingMemoryBound(to: Int8.self)
                let out = dst + block * 32
                for j in 0..<32 { out[j] = Float(qs[j]) * d }
            }
        case .q4_0:
            for block in 0..<(count / 32) {
                let base = src + block * 18
                let d = halfToFloat(base.loadUnaligned(as: UInt16.self))
                let qs = (base + 2).assumingMemoryBound(to: UInt8.self)
                let out = dst + block * 32
                for j in 0..<16 {
                    out[j] = Float(Int(qs[j] & 0x0F) - 8) * d
                    out[j + 16] = Float(Int(qs[j] >> 4) - 8) * d
                }
            }
        default:
            preconditionFailure("dequantize: unsupported type \(type); expected F32, F16, Q8_0 or Q4_0")
        }
    }

    /// Quantizes one block of 32 floats to a 34-byte Q8_0 block.
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

    /// Quantizes one block of 32 floats to an 18-byte Q4_0 block.
    @inline(__always)
    static func quantizeBlockQ4_0(_ x: UnsafePointer<Float>, into block: UnsafeMutableRawPointer) {
        var amax: Float = 0
        var signedMax: Float = 0
        for j in 0..<32 where amax < abs(x[j]) {
            amax = abs(x[j])
            signedMax = x[j]
        }
        let d = signedMax / -8
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

    /// Truncates toward zero into Int8's range; NaN (from non-finite input) becomes 0 instead of trapping.
    @inline(__always)
    static func clampedToInt8(_ value: Float) -> Float {
        value.isNaN ? 0 : min(127, max(-128, value.rounded(.towardZero)))
    }
}
