#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Quantize / dequantize rows in ggml's exact layouts (see BlockDequantization.swift for every block's bytes).
///
/// The quantizers follow ggml's reference ones (`quantize_row_*_ref`) so files we write are byte-identical
/// to llama.cpp's. The K-quants are read only: ggml's K quantizers search scales iteratively, and the
/// files people run are made by llama.cpp.
public enum Quantization {
    /// Types `quantize` can write.
    public static let quantizableTypes: [GGMLType] = [.f32, .f16, .bf16, .q8_0, .q4_0, .q4_1, .q5_0, .q5_1, .q8_1, .q8_K]

    /// Types `dequantize` can read.
    public static let dequantizableTypes: [GGMLType] = [.f32, .f16, .bf16, .q8_0, .q4_0, .q4_1, .q5_0, .q5_1, .q8_1,
                                                        .q4_K, .q5_K, .q6_K, .q8_K]

    /// Writes `count` floats (a multiple of the type's block size) as `type` (one of `quantizableTypes`).
    public static func quantize(_ type: GGMLType, _ src: UnsafePointer<Float>, count: Int, into dst: UnsafeMutableRawPointer) {
        precondition(count >= 0 && count % type.blockSize == 0,
                     "quantize: count \(count) is not a multiple of \(type)'s block size \(type.blockSize)")
        let blocks = count / type.blockSize, size = type.bytesPerBlock
        switch type {
        case .f32:
            dst.copyMemory(from: src, byteCount: count * 4)
        case .f16:
            let out = dst.assumingMemoryBound(to: UInt16.self)
            for i in 0..<count { out[i] = floatToHalf(src[i]) }
        case .bf16:
            for i in 0..<count { dst.storeBytes(of: floatToBFloat16(src[i]), toByteOffset: 2 * i, as: UInt16.self) }
        case .q8_0:
            for b in 0..<blocks { quantizeBlockQ8_0(src + b * 32, into: dst + b * size) }
        case .q4_0:
            for b in 0..<blocks { quantizeBlockQ4_0(src + b * 32, into: dst + b * size) }
        case .q4_1:
            for b in 0..<blocks { quantizeBlockQ4_1(src + b * 32, into: dst + b * size) }
        case .q5_0:
            for b in 0..<blocks { quantizeBlockQ5_0(src + b * 32, into: dst + b * size) }
        case .q5_1:
            for b in 0..<blocks { quantizeBlockQ5_1(src + b * 32, into: dst + b * size) }
        case .q8_1:
            for b in 0..<blocks { quantizeBlockQ8_1(src + b * 32, into: dst + b * size) }
        case .q8_K:
            for b in 0..<blocks { quantizeBlockQ8_K(src + b * 256, into: dst + b * size) }
        default:
            preconditionFailure("quantize: unsupported type \(type); expected one of \(quantizableTypes)")
        }
    }

    /// Reads `count` elements of `type` (one of `dequantizableTypes`) as floats.
    public static func dequantize(_ type: GGMLType, _ src: UnsafeRawPointer, count: Int, into dst: UnsafeMutablePointer<Float>) {
        precondition(count >= 0 && count % type.blockSize == 0,
                     "dequantize: count \(count) is not a multiple of \(type)'s block size \(type.blockSize)")
        let blocks = count / type.blockSize, size = type.bytesPerBlock
        switch type {
        case .f32:
            UnsafeMutableRawPointer(dst).copyMemory(from: src, byteCount: count * 4)
        case .f16:
            for i in 0..<count { dst[i] = halfToFloat(src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) }
        case .bf16:
            for i in 0..<count { dst[i] = bfloat16ToFloat(src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) }
        case .q8_0:
            for b in 0..<blocks { dequantizeBlockQ8_0(src + b * size, into: dst + b * 32) }
        case .q4_0:
            for b in 0..<blocks { dequantizeBlockQ4_0(src + b * size, into: dst + b * 32) }
        case .q4_1:
            for b in 0..<blocks { dequantizeBlockQ4_1(src + b * size, into: dst + b * 32) }
        case .q5_0:
            for b in 0..<blocks { dequantizeBlockQ5_0(src + b * size, into: dst + b * 32) }
        case .q5_1:
            for b in 0..<blocks { dequantizeBlockQ5_1(src + b * size, into: dst + b * 32) }
        case .q8_1:
            // The stored sum is redundant for reading; the values are d * q as in Q8_0.
            for b in 0..<blocks { dequantizeBlockQ8_1(src + b * size, into: dst + b * 32) }
        case .q4_K:
            for b in 0..<blocks { dequantizeBlockQ4_K(src + b * size, into: dst + b * 256) }
        case .q5_K:
            for b in 0..<blocks { dequantizeBlockQ5_K(src + b * size, into: dst + b * 256) }
        case .q6_K:
            for b in 0..<blocks { dequantizeBlockQ6_K(src + b * size, into: dst + b * 256) }
        case .q8_K:
            for b in 0..<blocks { dequantizeBlockQ8_K(src + b * size, into: dst + b * 256) }
        default:
            preconditionFailure("dequantize: unsupported type \(type); expected one of \(dequantizableTypes)")
        }
    }

    /// Checks that `count` elements of `type` form whole blocks and fit in `byteCount` bytes; returns the bytes they take.
    public static func checkedByteCount(_ type: GGMLType, count: Int, available byteCount: Int) throws(QuantizationError) -> Int {
        guard count >= 0, count % type.blockSize == 0 else {
            throw .partialBlock(type: type, count: count)
        }
        guard let needed = type.rowBytes(count) else { throw .tooLarge(type: type, count: count) }
        guard byteCount >= needed else {
            throw .truncated(type: type, count: count, needed: needed, available: byteCount)
        }
        return needed
    }

    /// Like `dequantize`, but checks the type, the length and the byte count first and throws instead of trapping.
    public static func dequantize(_ type: GGMLType, _ src: UnsafeRawBufferPointer, count: Int,
                                  into dst: UnsafeMutableBufferPointer<Float>) throws(QuantizationError) {
        guard dequantizableTypes.contains(type) else {
            throw .unsupportedType(type, operation: "dequantize", supported: dequantizableTypes)
        }
        _ = try checkedByteCount(type, count: count, available: src.count)
        guard dst.count >= count else { throw .outputTooSmall(count: count, available: dst.count) }
        guard count > 0 else { return }
        dequantize(type, src.baseAddress!, count: count, into: dst.baseAddress!)
    }

    /// Like `quantize`, but checks the type, the length and the destination's size first and throws instead of trapping.
    public static func quantize(_ type: GGMLType, _ src: UnsafeBufferPointer<Float>,
                                into dst: UnsafeMutableRawBufferPointer) throws(QuantizationError) {
        guard quantizableTypes.contains(type) else {
            throw .unsupportedType(type, operation: "quantize", supported: quantizableTypes)
        }
        _ = try checkedByteCount(type, count: src.count, available: dst.count)
        guard src.count > 0 else { return }
        quantize(type, src.baseAddress!, count: src.count, into: dst.baseAddress!)
    }
}

/// Why a row of quantized data cannot be read or written.
public enum QuantizationError: Error, Equatable, CustomStringConvertible {
    /// The kernels cannot do `operation` with this type.
    case unsupportedType(GGMLType, operation: String, supported: [GGMLType])
    /// `count` elements is not a whole number of the type's blocks.
    case partialBlock(type: GGMLType, count: Int)
    /// The byte size of `count` elements overflows.
    case tooLarge(type: GGMLType, count: Int)
    /// Fewer bytes than `count` elements need.
    case truncated(type: GGMLType, count: Int, needed: Int, available: Int)
    /// The float buffer is shorter than `count`.
    case outputTooSmall(count: Int, available: Int)

    public var description: String {
        switch self {
        case .unsupportedType(let type, let operation, let supported):
            return "cannot \(operation) tensor type \(type); supported: \(supported.map(\.description).joined(separator: ", "))"
        case .partialBlock(let type, let count):
            return "a row of \(count) elements is not a whole number of \(type) blocks of \(type.blockSize)"
        case .tooLarge(let type, let count):
            return "\(count) elements of \(type) is too large to address"
        case .truncated(let type, let count, let needed, let available):
            return "\(count) elements of \(type) need \(needed) bytes, but only \(available) are there"
        case .outputTooSmall(let count, let available):
            return "\(count) elements do not fit in an output of \(available) floats"
        }
    }
}

/// BFloat16 bits (the high half of a float) as a Float (exact).
@inlinable
public func bfloat16ToFloat(_ bits: UInt16) -> Float {
    Float(bitPattern: UInt32(bits) << 16)
}

/// A Float as BFloat16 bits, rounding to nearest-even as ggml does; NaN stays a (quiet) NaN.
@inlinable
public func floatToBFloat16(_ value: Float) -> UInt16 {
    let bits = value.bitPattern
    if bits & 0x7FFF_FFFF > 0x7F80_0000 { return UInt16(bits >> 16) | 0x40 }
    return UInt16(truncatingIfNeeded: (UInt64(bits) + UInt64(0x7FFF + ((bits >> 16) & 1))) >> 16)
}
