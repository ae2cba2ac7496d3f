import CKernels

// IEEE 754 half-precision conversions. ggml stores block scales and f16 tensors as raw half bits;
// Swift's Float16 does the rounding (nearest-even) and, with F16C enabled, compiles to vcvtph2ps/vcvtps2ph.

/// Converts IEEE half bits to a Float (exact).
@inlinable
public func halfToFloat(_ bits: UInt16) -> Float {
    Float(Float16(bitPattern: bits))
}

/// Converts a Float to IEEE half bits, rounding to nearest-even (overflow becomes ±infinity).
@inlinable
public func floatToHalf(_ value: Float) -> UInt16 {
    Float16(value).bitPattern
}

/// Rounds `count` floats to half bits (nearest-even), eight at a time with F16C: how the KV cache
/// stores keys and values.
public func convertToHalves(_ x: UnsafePointer<Float>, count: Int, into out: UnsafeMutablePointer<UInt16>) {
    ck_floats_to_halves(x, out, count)
}
