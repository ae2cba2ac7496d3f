// ggml's block layouts, read one block at a time into floats. Plain scalar code: this is the reference
// the SIMD kernels are tested against, and it is checked against the Python `gguf` package's
// dequantizers (Tests/KernelsTests/GGUFFixtures.swift, made by scripts/make-quant-fixtures.py).
// "half" is IEEE binary16; all multi-byte fields are little-endian.
//
//   Q8_0  34 B / 32: half d, int8 q[32]                          x = d * q
//   Q8_1  36 B / 32: half d, half s (= d * Σq), int8 q[32]       x = d * q
//   Q4_0  18 B / 32: half d, byte n[16]                          x = d * (q - 8)
//   Q4_1  20 B / 32: half d, half m, byte n[16]                  x = d * q + m
//   Q5_0  22 B / 32: half d, uint32 h, byte n[16]                x = d * (q - 16)
//   Q5_1  24 B / 32: half d, half m, uint32 h, byte n[16]        x = d * q + m
//         (element j < 16 is the low nibble of n[j], element j + 16 the high nibble; Q5's fifth bit
//         of element j is bit j of h)
//   Q4_K 144 B / 256: half d, half dmin, byte scales[12], byte n[128]
//   Q5_K 176 B / 256: half d, half dmin, byte scales[12], byte h[32], byte n[128]
//         eight sub-blocks of 32, each with a 6-bit scale s and 6-bit min m (packed, see
//         `kQuantScaleAndMin`): x = d * s * q - dmin * m. Sub-blocks 2i and 2i + 1 share the 32
//         bytes n[32i ..< 32i + 32] (low and high nibbles); Q5_K's fifth bit of element l of
//         sub-block k is bit k of h[l].
//   Q6_K 210 B / 256: byte lo[128], byte hi[64], int8 scales[16], half d
//         sixteen sub-blocks of 16 with an int8 scale: x = d * scale * (q - 32), q 6 bits.
//   Q8_K 292 B / 256: float d, int8 q[256], int16 sums[16] (Σq of each 16)      x = d * q

extension Quantization {
    @inline(__always)
    static func half(_ p: UnsafeRawPointer, _ offset: Int = 0) -> Float {
        halfToFloat(p.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }

    static func dequantizeBlockQ8_0(_ block: UnsafeRawPointer, into y: UnsafeMutablePointer<Float>) {
        let d = half(block)
        for j in 0..<32 { y[j] = Float(block.load(fromByteOffset: 2 + j, as: Int8.self)) * d }
    }

    static func dequantizeBlockQ8_1(_ block: UnsafeRawPointer, into y: UnsafeMutablePointer<Float>) {
        let d = half(block)
        for j in 0..<32 { y[j] = Float(block.load(fromByteOffset: 4 + j, as: Int8.self)) * d }
    }

    static func dequantizeBlockQ4_0(_ block: UnsafeRawPointer, into y: UnsafeMutablePointer<Float>) {
        let d = half(block)
        for j in 0..<16 {
            let byte = block.load(fromByteOffset: 2 + j, as: UInt8.self)
            y[j] = Float(Int(byte & 0x0F) - 8) * d
            y[j + 16] = Float(Int(byte >> 4) - 8) * d
        }
    }

    static func dequantizeBlockQ4_1(_ block: UnsafeRawPointer, into y: UnsafeMutablePointer<Float>) {
        let d = half(block), m = half(block, 2)
        for j in 0..<16 {
            let byte = block.load(fromByteOffset: 4 + j, as: UInt8.self)
            y[j] = Float(byte & 0x0F) * d + m
            y[j + 16] = Float(byte >> 4) * d + m
        }
    }

    /// The 32 five-bit codes of a Q5_0/Q5_1 block whose high-bit word starts at `bits`.
    @inline(__always)
    static func fiveBitCode(_ bits: UnsafeRawPointer, _ j: Int) -> Int {
        let high = UInt32(littleEndian: bits.loadUnaligned(as: UInt32.self))
        let byte = bits.load(fromByteOffset: 4 + j % 16, as: UInt8.self)
        let low = j < 16 ? byte & 0x0F : byte >> 4
        return Int(low) | Int((high >> UInt32(j)) & 1) << 4
    }

    static func dequantizeBlockQ5_0(_ block: UnsafeRawPointer, into y: UnsafeMutablePointer<Float>) {
        let d = half(block)
        for j in 0..<32 { y[j] = Float(fiveBitCode(block + 2, j) - 16) * d }
    }

    static func dequantizeBlockQ5_1(_ block: UnsafeRawPointer, into y: UnsafeMutablePointer<Float>) {
        let d = half(block), m = half(block, 2)
        for j in 0..<32 { y[j] = Float(fiveBitCode(block + 4, j)) * d + m }
    }

    /// Sub-block `k`'s 6-bit scale and min from Q4_K/Q5_K's 12 packed bytes: bytes 0-3 hold the scales
    /// of sub-blocks 0-3 (low 6 bits), bytes 4-7 their mins; sub-blocks 4-7 keep their low 4 bits in
    /// bytes 8-11 (scale low nibble, min high nibble) and their top 2 bits in the spare top bits of
    /// bytes 0-3 (scales) and 4-7 (mins).
    @inline(__always)
    static func kQuantScaleAndMin(_ scales: UnsafeRawPointer, _ k: Int) -> (scale: Int, min: Int) {
        func byte(_ i: Int) -> Int { Int(scales.load(fromByteOffset: i, as: UInt8.self)) }
        if k < 4 { return (byte(k) & 63, byte(k + 4) & 63) }
        return ((byte(k + 4) & 0x0F) | ((byte(k - 4) >> 6) << 4), (byte(k + 4) >> 4) | ((byte(k) >> 6) << 4))
    }

    static func dequantizeBlockQ4_K(_ block: UnsafeRawPointer, into y: UnsafeMutablePointer<Float>) {
        let d = half(block), dmin = half(block, 2)
        let scales = block + 4, nibbles = block + 16
        for k in 0..<8 {
            let (s, m) = kQuantScaleAndMin(scales, k)
            let scale = d * Float(s), offset = dmin * Float(m)
            let bytes = nibbles + 32 * (k / 2)
            for l in 0..<32 {
                let byte = bytes.load(fromByteOffset: l, as: UInt8.self)
                let q = k % 2 == 0 ? byte & 0x0F : byte >> 4
                y[32 * k + l] = scale * Float(q) - offset
            }
        }
    }

    static func dequantizeBlockQ5_K(_ block: UnsafeRawPointer, into y: UnsafeMutablePointer<Float>) {
        let d = half(block), dmin = half(block, 2)
        let scales = block + 4, highBits = block + 16, nibbles = block + 48
        for k in 0..<8 {
            let (s, m) = kQuantScaleAndMin(scales, k)
            let scale = d * Float(s), offset = dmin * Float(m)
            let bytes = nibbles + 32 * (k / 2)
            for l in 0..<32 {
                let byte = bytes.load(fromByteOffset: l, as: UInt8.self)
                let low = k % 2 == 0 ? byte & 0x0F : byte >> 4
                let high = (highBits.load(fromByteOffset: l, as: UInt8.self) >> UInt8(k)) & 1
                y[32 * k + l] = scale * Float(Int(low) | Int(high) << 4) - offset
            }
        }
    }

    /// Q6_K keeps each half of 128 elements in 64 bytes of low nibbles and 32 bytes of 2-bit pairs:
    /// element 32i + l (i in 0..<4, l in 0..<32) takes the low (i < 2) or high (i >= 2) nibble of
    /// lo[l + 32 (i % 2)] and bits 2i, 2i + 1 of hi[l].
    static func dequantizeBlockQ6_K(_ block: UnsafeRawPointer, into y: UnsafeMutablePointer<Float>) {
        let d = half(block, 208)
        for h in 0..<2 {
            let lo = block + 64 * h, hi = block + 128 + 32 * h
            for i in 0..<4 {
                for l in 0..<32 {
                    let byte = lo.load(fromByteOffset: l + 32 * (i % 2), as: UInt8.self)
                    let low = i < 2 ? byte & 0x0F : byte >> 4
                    let top = (hi.load(fromByteOffset: l, as: UInt8.self) >> UInt8(2 * i)) & 3
                    let q = Int(low) | Int(top) << 4
                    let element = 128 * h + 32 * i + l
                    let scale = Float(block.load(fromByteOffset: 192 + element / 16, as: Int8.self))
                    y[element] = d * scale * Float(q - 32)
                }
            }
        }
    }

    static func dequantizeBlockQ8_K(_ block: UnsafeRawPointer, into y: UnsafeMutablePointer<Float>) {
        let d = block.loadUnaligned(as: Float.self)
        for j in 0..<256 { y[j] = d * Float(block.load(fromByteOffset: 4 + j, as: Int8.self)) }
    }
}
