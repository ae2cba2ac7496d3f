// The inner products every matvec and attention call reduces to. Swift's SIMD integer widening
// conversions compile to out-of-line generic calls, so int8 blocks are handled as SIMD16<Int16> lanes
// holding two bytes each and sign-extended with shifts; LLVM then emits plain AVX2 shifts and
// multiplies. Measured on this machine (8192 rows x 288, one thread): 11.8 GFLOP/s against 14.0 for
// ggml-style C intrinsics (maddubs/sign), within the 1.5x budget, so no C target is needed.

/// Sums a[i] * b[i] over `count` floats.
@inline(__always)
public func dotF32(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
    let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
    var acc0 = SIMD8<Float>(), acc1 = SIMD8<Float>(), acc2 = SIMD8<Float>(), acc3 = SIMD8<Float>()
    var i = 0
    while i + 32 <= count {
        let o = i * 4
        acc0.addProduct(ra.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self),
                        rb.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self))
        acc1.addProduct(ra.loadUnaligned(fromByteOffset: o + 32, as: SIMD8<Float>.self),
                        rb.loadUnaligned(fromByteOffset: o + 32, as: SIMD8<Float>.self))
        acc2.addProduct(ra.loadUnaligned(fromByteOffset: o + 64, as: SIMD8<Float>.self),
                        rb.loadUnaligned(fromByteOffset: o + 64, as: SIMD8<Float>.self))
        acc3.addProduct(ra.loadUnaligned(fromByteOffset: o + 96, as: SIMD8<Float>.self),
                        rb.loadUnaligned(fromByteOffset: o + 96, as: SIMD8<Float>.self))
        i += 32
    }
    while i + 8 <= count {
        acc0.addProduct(ra.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self),
                        rb.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self))
        i += 8
    }
    var sum = ((acc0 + acc1) + (acc2 + acc3)).sum()
    while i < count {
        sum += a[i] * b[i]
        i += 1
    }
    return sum
}

/// Sums half(a[i]) * b[i] over `count` elements, `a` being raw IEEE half bits.
@inline(__always)
func dotF16(_ a: UnsafeRawPointer, _ b: UnsafePointer<Float>, count: Int) -> Float {
    let rb = UnsafeRawPointer(b)
    var acc0 = SIMD8<Float>(), acc1 = SIMD8<Float>()
    var i = 0
    while i + 16 <= count {
        acc0.addProduct(widen(a.loadUnaligned(fromByteOffset: i * 2, as: SIMD8<Float16>.self)),
                        rb.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self))
        acc1.addProduct(widen(a.loadUnaligned(fromByteOffset: i * 2 + 16, as: SIMD8<Float16>.self)),
                        rb.loadUnaligned(fromByteOffset: i * 4 + 32, as: SIMD8<Float>.self))
        i += 16
    }
    var sum = (acc0 + acc1).sum()
    while i < count {
        sum += halfToFloat(a.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self)) * b[i]
        i += 1
    }
    return sum
}

@inline(__always)
private func widen(_ h: SIMD8<Float16>) -> SIMD8<Float> {
    SIMD8<Float>(Float(h[0]), Float(h[1]), Float(h[2]), Float(h[3]),
                 Float(h[4]), Float(h[5]), Float(h[6]), Float(h[7]))
}

/// Dot product of 32 int8 pairs given as 16 lanes of two bytes each, reduced to 8 Int32 partial sums.
///
/// Products of two int8 in [-128, 127] x [-127, 127] and the sum of two of them fit in Int16; our
/// activations are quantized to [-127, 127], so no lane can overflow.
@inline(__always)
func pairDot(_ a: SIMD16<Int16>, _ b: SIMD16<Int16>) -> SIMD8<Int32> {
    let aEven = (a &<< 8) &>> 8, aOdd = a &>> 8
    let bEven = (b &<< 8) &>> 8, bOdd = b &>> 8
    let pairs = unsafeBitCast(aEven &* bEven &+ aOdd &* bOdd, to: SIMD8<Int32>.self)
    return ((pairs &<< 16) &>> 16) &+ (pairs &>> 16)
}

/// Dot product of `blocks` Q8_0 weight blocks with `blocks` Q8_0 activation blocks.
@inline(__always)
func dotQ8_0(_ w: UnsafeRawPointer, _ x: UnsafeRawPointer, blocks: Int) -> Float {
    var acc = SIMD8<Float>()
    var wb = w, xb = x
    for _ in 0..<blocks {
        let d = halfToFloat(wb.loadUnaligned(as: UInt16.self)) * halfToFloat(xb.loadUnaligned(as: UInt16.self))
        let sums = pairDot(wb.loadUnaligned(fromByteOffset: 2, as: SIMD16<Int16>.self),
                           xb.loadUnaligned(fromByteOffset: 2, as: SIMD16<Int16>.self))
        acc.addProduct(SIMD8<Float>(sums), SIMD8<Float>(repeating: d))
        wb += 34
        xb += 34
    }
    return acc.sum()
}

/// Like `pairDot`, but `a` holds unsigned 4-bit codes (0...15, one per byte) that stand for code - 8.
@inline(__always)
func nibblePairDot(_ a: SIMD16<Int16>, _ b: SIMD16<Int16>) -> SIMD8<Int32> {
    let aEven = (a & 0x0F) &- 8, aOdd = (a &>> 8) &- 8
    let bEven = (b &<< 8) &>> 8, bOdd = b &>> 8
    let pairs = unsafeBitCast(aEven &* bEven &+ aOdd &* bOdd, to: SIMD8<Int32>.self)
    return ((pairs &<< 16) &>> 16) &+ (pairs &>> 16)
}

/// Dot product of `blocks` Q4_0 weight blocks with `blocks` Q8_0 activation blocks.
///
/// Byte-lane SIMD (SIMD32<UInt8>) arithmetic is scalarized by the compiler (measured 40x slower), so
/// the nibbles are split with 64-bit lanes: lanes 0-1 keep the low nibbles (elements 0..<16), lanes
/// 2-3 the high ones (elements 16..<32), matching the activation's element order.
@inline(__always)
func dotQ4_0(_ w: UnsafeRawPointer, _ x: UnsafeRawPointer, blocks: Int) -> Float {
    var acc = SIMD8<Float>()
    var wb = w, xb = x
    for _ in 0..<blocks {
        let d = halfToFloat(wb.loadUnaligned(as: UInt16.self)) * halfToFloat(xb.loadUnaligned(as: UInt16.self))
        let packed = wb.loadUnaligned(fromByteOffset: 2, as: SIMD2<UInt64>.self)
        let codes = (SIMD4<UInt64>(packed[0], packed[1], packed[0], packed[1]) &>> SIMD4<UInt64>(0, 0, 4, 4))
            & 0x0F0F_0F0F_0F0F_0F0F
        let sums = nibblePairDot(unsafeBitCast(codes, to: SIMD16<Int16>.self),
                                 xb.loadUnaligned(fromByteOffset: 2, as: SIMD16<Int16>.self))
        acc.addProduct(SIMD8<Float>(sums), SIMD8<Float>(repeating: d))
        wb += 18
        xb += 34
    }
    return acc.sum()
}

/// Sums a[i] * b[i] over `count` floats with AVX2 FMA (8-wide, four accumulators).
public func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
    dotF32(a, b, count: count)
}
