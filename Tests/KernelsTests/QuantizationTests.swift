import Testing
@testable import Kernels

@Test func q8_0BlockIsByteExact() {
    // amax 127 gives d = 1 (half 0x3C00) and q = roundf(x): halves round away from zero, as in ggml.
    var x = (0..<32).map { Float($0 - 20) }
    x[0] = 127
    x[1] = -2.5
    x[2] = 0.49
    x[3] = 1.5
    var expected: [UInt8] = [0x00, 0x3C]
    var q = (0..<32).map { Int8($0 - 20) }
    q[0] = 127
    q[1] = -3
    q[2] = 0
    q[3] = 2
    expected += q.map { UInt8(bitPattern: $0) }
    // A block of zeros has d = 0 and all-zero quants.
    let bytes = quantized(.q8_0, x + [Float](repeating: 0, count: 32))
    #expect(bytes == expected + [UInt8](repeating: 0, count: 34))
}

@Test func q4_0BlockIsByteExact() {
    // Largest magnitude -8 gives d = 1; q = min(15, trunc(x + 8.5)).
    var x = [Float](repeating: 0, count: 32)
    x[0] = -8; x[16] = 7       // 0 and 15
    x[1] = 7.6; x[17] = -0.6   // 16 clamped to 15, and 7
    x[2] = 0; x[18] = -3       // 8 and 5
    x[3] = 0.4; x[19] = 0.6    // 8 and 9
    let expected: [UInt8] = [0x00, 0x3C, 0xF0, 0x7F, 0x58, 0x98] + [UInt8](repeating: 0x88, count: 12)
    #expect(quantized(.q4_0, x) == expected)

    // Largest magnitude +4 (positive) gives d = -0.5 (half 0xB800): x = 4 -> 0, x = -2 -> 12.
    var y = [Float](repeating: 0, count: 32)
    y[0] = 4; y[16] = -2
    let expectedY: [UInt8] = [0x00, 0xB8, 0xC0] + [UInt8](repeating: 0x88, count: 15)
    #expect(quantized(.q4_0, y) == expectedY)
    #expect(dequantized(.q4_0, expectedY, count: 32)[0] == 4)
    #expect(dequantized(.q4_0, expectedY, count: 32)[16] == -2)
}

@Test func quantizedRoundTripsStayWithinHalfAStep() {
    var random = TestRandom(seed: 7)
    let x = random.floats(32 * 40, scale: 3)
    for type in [GGMLType.q8_0, .q4_0] {
        let bytes = quantized(type, x)
        #expect(bytes.count == type.rowBytes(x.count)!)
        let back = dequantized(type, bytes, count: x.count)
        for block in 0..<40 {
            let d = abs(halfToFloat(UInt16(bytes[block * type.bytesPerBlock]) | UInt16(bytes[block * type.bytesPerBlock + 1]) << 8))
            for j in 0..<32 {
                let i = block * 32 + j
                // q8_0 rounds (error <= d/2 plus half-precision scale error); q4_0's top code is
                // clamped to 15, so values on the far side of the extreme can be a whole step off.
                let bound = type == .q8_0 ? d * 0.5 + abs(x[i]) * 1e-3 : d * 1.0 + abs(x[i]) * 1e-3
                #expect(abs(back[i] - x[i]) <= bound, "\(type) element \(i): \(x[i]) came back as \(back[i])")
            }
        }
    }
}

@Test func plainTypesRoundTripExactly() {
    var random = TestRandom(seed: 3)
    let x = random.floats(100)
    #expect(dequantized(.f32, quantized(.f32, x), count: 100) == x)
    let halves = dequantized(.f16, quantized(.f16, x), count: 100)
    #expect(halves == x.map { halfToFloat(floatToHalf($0)) })
    let bytes = quantized(.f16, [1, -2])
    #expect(bytes == [0x00, 0x3C, 0x00, 0xC0])
}

@Test func dequantizedQ8_0IsScaleTimesQuant() {
    let block: [UInt8] = [0x00, 0x38] + [1, 255, 127, 129] + [UInt8](repeating: 0, count: 28)  // d = 0.5
    let values = dequantized(.q8_0, block, count: 32)
    #expect(Array(values[0..<4]) == [0.5, -0.5, 63.5, -63.5])
    #expect(values[4...].allSatisfy { $0 == 0 })
}
