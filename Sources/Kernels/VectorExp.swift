#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// A vectorized e^x for softmax and SiLU: libm's expf is a call per element, which dominated causal
// attention at 512 tokens. Cephes' expf scheme: x = n ln2 + r with |r| <= ln2/2, e^r from a degree-7
// polynomial, 2^n built in the exponent bits. Relative error stays within ~2 ulp over the clamped range.

/// e^x lane by lane; inputs are clamped to [-87.3, 88.3] so the result is always finite and normal.
@inline(__always)
func vectorExp(_ x: SIMD8<Float>) -> SIMD8<Float> {
    // Compare-and-blend, not `clamped(lowerBound:upperBound:)`: that one stays a generic call per vector.
    let low = SIMD8<Float>(repeating: -87.3), high = SIMD8<Float>(repeating: 88.3)
    var clamped = x.replacing(with: low, where: x .< low)
    clamped.replace(with: high, where: clamped .> high)
    let n = (clamped * 1.442_695_04).rounded(.toNearestOrEven)
    // ln 2 split in two so n * ln2High is exact.
    var r = clamped - n * 0.693_359_375
    r = r + n * 2.121_944_4e-4
    var p = SIMD8<Float>(repeating: 1.987_569_15e-4)
    p = p * r + 1.398_199_95e-3
    p = p * r + 8.333_451_9e-3
    p = p * r + 4.166_579_59e-2
    p = p * r + 1.666_666_55e-1
    p = p * r + 5.000_000_12e-1
    p = p * (r * r) + r + 1
    // Adding 1.5 * 2^23 puts the integer n + 127 in the low mantissa bits; shift it into the exponent.
    let biased = unsafeBitCast(n + (12_582_912 + 127), to: SIMD8<Int32>.self)
    let scale = unsafeBitCast(biased &<< 23, to: SIMD8<Float>.self)
    return p * scale
}

/// Scalar companion of `vectorExp` for loop tails, clamped the same way.
@inline(__always)
func scalarExp(_ x: Float) -> Float {
    expf(min(88.3, max(-87.3, x)))
}
