import Testing
@testable import Kernels

@Test func halfKnownBitPatterns() {
    #expect(floatToHalf(1) == 0x3C00)
    #expect(floatToHalf(-2) == 0xC000)
    #expect(floatToHalf(65504) == 0x7BFF)
    #expect(floatToHalf(0.1) == 0x2E66)
    #expect(floatToHalf(70000) == 0x7C00)  // overflows to +infinity
    #expect(floatToHalf(0x1p-24) == 0x0001)  // smallest subnormal
    #expect(halfToFloat(0x3555) == 0.333251953125)
    #expect(halfToFloat(0x0001) == 0x1p-24)
    #expect(halfToFloat(0x8000).sign == .minus)
}

@Test func halfRoundsToNearestEven() {
    // 1 + 2^-11 is exactly between 1 and the next half (1 + 2^-10): ties go to the even mantissa.
    #expect(floatToHalf(1 + 0x1p-11) == 0x3C00)
    #expect(floatToHalf(1 + 3 * 0x1p-11) == 0x3C02)
    #expect(floatToHalf(1 + 0x1p-11 + 0x1p-20) == 0x3C01)
}

@Test func everyFiniteHalfRoundTrips() {
    for bits in 0...UInt16.max {
        let value = halfToFloat(bits)
        if value.isNaN { continue }
        #expect(floatToHalf(value) == bits)
    }
}
