import Testing
@testable import Kernels

/// One case from scripts/make-quant-fixtures.py: `count` elements stored as `bytes` (hex) in `type`,
/// and the same elements as float32 bits (hex, little-endian).
struct GGUFFixture: CustomStringConvertible {
    let type: GGMLType
    let count: Int
    let bytes: String
    let floats: String

    var data: [UInt8] { hexBytes(bytes) }
    var values: [Float] {
        let raw = hexBytes(floats)
        return (0..<(raw.count / 4)).map { i in
            Float(bitPattern: UInt32(raw[4 * i]) | UInt32(raw[4 * i + 1]) << 8 | UInt32(raw[4 * i + 2]) << 16 | UInt32(raw[4 * i + 3]) << 24)
        }
    }
    var description: String { "\(type) x \(count)" }
}

private func hexBytes(_ hex: String) -> [UInt8] {
    let digits = Array(hex.utf8).map { $0 <= 57 ? $0 - 48 : $0 - 87 }
    return (0..<(digits.count / 2)).map { digits[2 * $0] << 4 | digits[2 * $0 + 1] }
}

@Test func fixturesCoverEveryComputedType() {
    let read = Set(ggufDequantizationFixtures.map(\.type)), written = Set(ggufQuantizationFixtures.map(\.type))
    #expect(read == [.bf16, .q8_0, .q4_0, .q4_1, .q5_0, .q5_1, .q4_K, .q5_K, .q6_K])
    #expect(written == [.bf16, .q8_0, .q4_0, .q4_1, .q5_0, .q5_1])
}

/// Our reference dequantization reads every block exactly as the gguf package does (same float bits).
@Test(arguments: ggufDequantizationFixtures)
func dequantizationMatchesGGUFPackage(fixture: GGUFFixture) {
    let data = fixture.data, expected = fixture.values
    #expect(data.count == fixture.type.rowBytes(fixture.count))
    #expect(expected.count == fixture.count)
    let ours = dequantized(fixture.type, data, count: fixture.count)
    for i in 0..<fixture.count where ours[i].bitPattern != expected[i].bitPattern {
        Issue.record("\(fixture.type) element \(i): \(ours[i]) vs gguf's \(expected[i])")
        break
    }
}

/// Our quantizers write the bytes the gguf package writes (which follow ggml's reference quantizers).
@Test(arguments: ggufQuantizationFixtures)
func quantizationMatchesGGUFPackage(fixture: GGUFFixture) {
    let expected = fixture.data
    let ours = quantized(fixture.type, fixture.values)
    #expect(ours.count == expected.count)
    if let first = zip(ours, expected).enumerated().first(where: { $0.element.0 != $0.element.1 }) {
        let block = first.offset / fixture.type.bytesPerBlock
        Issue.record("\(fixture.type) byte \(first.offset) (block \(block)): \(first.element.0) vs gguf's \(first.element.1)")
    }
}

@Test(arguments: [GGMLType.q4_1, .q5_0, .q5_1, .q8_1, .q8_K])
func newQuantizersRoundTripWithinAStep(type: GGMLType) {
    var random = TestRandom(seed: 21)
    let x = random.floats(512, scale: 2)
    let back = dequantized(type, quantized(type, x), count: x.count)
    let block = type.blockSize
    for b in 0..<(x.count / block) {
        let values = x[(b * block)..<((b + 1) * block)]
        let spread = (values.max()! - values.min()!)
        let levels: Float = switch type {
        case .q4_1: 15
        case .q5_0: 15.5
        case .q5_1: 31
        default: 127
        }
        for i in values.indices {
            #expect(abs(back[i] - x[i]) <= spread / levels * 0.5 + 1e-2 * spread / levels + abs(x[i]) * 1e-3,
                    "\(type) element \(i): \(x[i]) came back as \(back[i])")
        }
    }
}

@Test func bfloat16RoundsToNearestEvenAndKeepsNaN() {
    #expect(floatToBFloat16(1) == 0x3F80)
    #expect(floatToBFloat16(Float(bitPattern: 0x3F80_8000)) == 0x3F80)  // tie, even stays
    #expect(floatToBFloat16(Float(bitPattern: 0x3F81_8000)) == 0x3F82)  // tie, odd rounds up
    #expect(floatToBFloat16(Float(bitPattern: 0x3F80_8001)) == 0x3F81)
    #expect(bfloat16ToFloat(floatToBFloat16(.nan)).isNaN)
    #expect(bfloat16ToFloat(0xC000) == -2)
}

/// A Q8_K block: float scale -m/127 for the signed largest m, rounding half to even, sums of each 16.
@Test func q8_KBlockFollowsGGMLsReference() {
    var x = [Float](repeating: 0, count: 256)
    for j in 0..<256 { x[j] = Float(j % 19) - 9 }
    x[5] = -12.7          // largest magnitude, negative: scale is +0.1
    x[6] = 0.25           // 2.5 steps: a tie, rounds to 2
    x[7] = 0.35           // 3.5 steps: rounds to 4
    let bytes = quantized(.q8_K, x)
    let d = bytes.withUnsafeBytes { $0.loadUnaligned(as: Float.self) }
    #expect(d == 1 / (-127 / Float(-12.7)))
    let q = bytes[4..<260].map { Int8(bitPattern: $0) }
    #expect(q[5] == -127 && q[6] == 2 && q[7] == 4)
    for g in 0..<16 {
        let sum = bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 260 + 2 * g, as: Int16.self) }
        #expect(Int(sum) == q[(16 * g)..<(16 * g + 16)].reduce(0) { $0 + Int($1) })
    }
    #expect(quantized(.q8_K, [Float](repeating: 0, count: 256)) == [UInt8](repeating: 0, count: 292))
}

// MARK: - Corrupt input

@Test func checkedDequantizationRejectsPartialBlocksAndShortData() throws {
    let bytes = [UInt8](repeating: 0, count: 144 * 2)
    var out = [Float](repeating: 0, count: 1024)
    try bytes.withUnsafeBytes { src in
        try out.withUnsafeMutableBufferPointer { dst in
            #expect(throws: QuantizationError.partialBlock(type: .q4_K, count: 300)) {
                try Quantization.dequantize(.q4_K, src, count: 300, into: dst)
            }
            #expect(throws: QuantizationError.truncated(type: .q4_K, count: 768, needed: 432, available: 288)) {
                try Quantization.dequantize(.q4_K, src, count: 768, into: dst)
            }
            #expect(throws: QuantizationError.outputTooSmall(count: 512, available: 100)) {
                try Quantization.dequantize(.q4_K, src, count: 512, into: UnsafeMutableBufferPointer(rebasing: dst[0..<100]))
            }
            #expect(throws: QuantizationError.self) { try Quantization.dequantize(.iq2_xs, src, count: 256, into: dst) }
            #expect(throws: QuantizationError.self) { try Quantization.dequantize(.q5_0, src, count: -32, into: dst) }
            try Quantization.dequantize(.q4_K, src, count: 512, into: dst)
        }
    }
    let error = QuantizationError.truncated(type: .q6_K, count: 512, needed: 420, available: 10)
    #expect(error.description == "512 elements of Q6_K need 420 bytes, but only 10 are there")
    #expect(QuantizationError.partialBlock(type: .q5_1, count: 40).description.contains("block"))
}

@Test func checkedQuantizationRejectsBadLengths() {
    let x = [Float](repeating: 1, count: 40)
    var out = [UInt8](repeating: 0, count: 64)
    x.withUnsafeBufferPointer { src in
        out.withUnsafeMutableBytes { dst in
            #expect(throws: QuantizationError.partialBlock(type: .q4_1, count: 40)) { try Quantization.quantize(.q4_1, src, into: dst) }
            #expect(throws: QuantizationError.self) { try Quantization.quantize(.q4_K, UnsafeBufferPointer(rebasing: src[0..<32]), into: dst) }
            #expect(throws: QuantizationError.truncated(type: .q5_1, count: 32, needed: 24, available: 10)) {
                try Quantization.quantize(.q5_1, UnsafeBufferPointer(rebasing: src[0..<32]), into: UnsafeMutableRawBufferPointer(rebasing: dst[0..<10]))
            }
        }
    }
}

@Test func byteCountOverflowIsAnError() {
    #expect(throws: QuantizationError.tooLarge(type: .q8_K, count: Int.max / 256 * 256)) {
        try Quantization.checkedByteCount(.q8_K, count: Int.max / 256 * 256, available: 0)
    }
}
