import Testing
@testable import Kernels
import CKernels

// The kernels of every weight type against the plain reference: dequantized weights (Swift reference)
// times x, in Double. x goes through the same activation quantization as the kernel (checked against
// the reference quantizers below), so the integer paths must agree to float rounding.

/// x as the kernel for `type` sees it: quantized to its activation type and read back.
private func activationsSeenBy(_ type: GGMLType, _ x: [Float]) -> [Float] {
    guard integerTypes.contains(type) else { return x }
    let activation = activationType(for: type)
    var bytes = [UInt8](repeating: 0, count: activation.rowBytes(x.count)!)
    bytes.withUnsafeMutableBytes { quantizeActivations(activation, x, count: x.count, into: $0.baseAddress!) }
    return dequantized(activation, bytes, count: x.count)
}

/// Q4_1/Q5_1 rows meet Q8_1 activations, whose stored sum d * Σq is rounded to half precision as ggml
/// does: the kernel's offset term is Σ over blocks of m * half(d * Σq). Returns, per row, that term
/// minus the exact m * d * Σq that the dequantized product already holds.
private func halfSumCorrection(_ type: GGMLType, _ stored: [UInt8], rows: Int, _ x: [Float]) -> [Double] {
    guard type == .q4_1 || type == .q5_1 else { return [Double](repeating: 0, count: rows) }
    let blocks = x.count / 32
    var bytes = [UInt8](repeating: 0, count: blocks * 36)
    bytes.withUnsafeMutableBytes { quantizeActivations(.q8_1, x, count: x.count, into: $0.baseAddress!) }
    func half(_ b: [UInt8], _ i: Int) -> Double { Double(halfToFloat(UInt16(b[i]) | UInt16(b[i + 1]) << 8)) }
    return (0..<rows).map { r in
        (0..<blocks).reduce(0.0) { total, b in
            let m = half(stored, (r * blocks + b) * type.bytesPerBlock + 2)
            let d = Double(Float(half(bytes, b * 36)))
            let sum = (0..<32).reduce(0) { $0 + Int(Int8(bitPattern: bytes[b * 36 + 4 + $1])) }
            return total + m * (half(bytes, b * 36 + 2) - d * Double(sum))
        }
    }
}

private func referenceProduct(_ weights: [Float], rows: Int, _ x: [Float]) -> [(dot: Double, magnitude: Double)] {
    (0..<rows).map { r in
        var dot = 0.0, magnitude = 0.0
        for c in 0..<x.count {
            let p = Double(weights[r * x.count + c]) * Double(x[c])
            dot += p
            magnitude += abs(p)
        }
        return (dot, magnitude)
    }
}

private func matvecOf(_ type: GGMLType, _ stored: [UInt8], rows: Int, cols: Int, _ x: [Float], threads: Int) -> [Float] {
    var y = [Float](repeating: .nan, count: rows)
    let pool = ThreadPool(threads: threads)
    stored.withUnsafeBytes { w in
        let matrix = WeightMatrix(type: type, rows: rows, cols: cols, data: w.baseAddress!)
        matvec(matrix, x, into: &y, pool: pool)
    }
    return y
}

@Test(arguments: computeTypesUnderTest)
func everyTypesMatvecMatchesTheReference(type: GGMLType) {
    for (rows, cols) in awkwardShapes(type) {
        var random = TestRandom(seed: UInt64(rows * cols))
        let stored = randomWeights(type, count: rows * cols, random: &random)
        let weights = dequantized(type, stored, count: rows * cols)
        let x = random.floats(cols, scale: 2)
        let y = matvecOf(type, stored, rows: rows, cols: cols, x, threads: 2)
        let exact = referenceProduct(weights, rows: rows, activationsSeenBy(type, x))
        let plain = referenceProduct(weights, rows: rows, x)
        let correction = halfSumCorrection(type, stored, rows: rows, x)
        for r in 0..<rows {
            #expect(abs(Double(y[r]) - exact[r].dot - correction[r]) <= 2e-6 * exact[r].magnitude + 1e-6,
                    "\(type) \(rows)x\(cols) row \(r): \(y[r]) vs \(exact[r].dot)")
            // Against unquantized x: within the activation rounding (1/254 of a block's largest value).
            #expect(abs(Double(y[r]) - plain[r].dot) <= 1.5e-2 * plain[r].magnitude + 1e-6,
                    "\(type) \(rows)x\(cols) row \(r): \(y[r]) vs \(plain[r].dot) with f32 x")
        }
    }
}

@Test(arguments: computeTypesUnderTest)
func matvecIsIdenticalOnOneTwoAndThreeThreads(type: GGMLType) {
    let rows = 777, cols = type.blockSize == 256 ? 512 : 288
    var random = TestRandom(seed: 9)
    let stored = randomWeights(type, count: rows * cols, random: &random)
    let x = random.floats(cols)
    let one = matvecOf(type, stored, rows: rows, cols: cols, x, threads: 1)
    #expect(matvecOf(type, stored, rows: rows, cols: cols, x, threads: 2) == one)
    #expect(matvecOf(type, stored, rows: rows, cols: cols, x, threads: 3) == one)
}

/// The C activation quantizers equal the reference ones: Q8_K exactly (ggml's CPU backend uses its
/// reference there), Q8_1 as Q8_0's CPU rounding plus the half sum d * Σq.
@Test func activationQuantizersMatchTheReference() {
    var random = TestRandom(seed: 4)
    var x = random.floats(768, scale: 3)
    x[256..<512] = ArraySlice(repeating: 0, count: 256)   // an all-zero Q8_K block
    x[600] = -9                                           // a negative largest value, first of two
    x[650] = 9
    x[601] = 9 * 2.5 / 127                                // 2.5 steps: a tie, rounds to even
    x[602] = -9 * 3.5 / 127
    var q8k = [UInt8](repeating: 0, count: 3 * 292)
    ck_quantize_activations_q8_k(x, &q8k, x.count)
    #expect(q8k == quantized(.q8_K, x))

    var q8_0 = [UInt8](repeating: 0, count: 24 * 34), q8_1 = [UInt8](repeating: 0, count: 24 * 36)
    ck_quantize_activations_q8_0(x, &q8_0, x.count)
    ck_quantize_activations_q8_1(x, &q8_1, x.count)
    for b in 0..<24 {
        #expect(Array(q8_1[(b * 36)..<(b * 36 + 2)]) == Array(q8_0[(b * 34)..<(b * 34 + 2)]))
        let qs = Array(q8_0[(b * 34 + 2)..<(b * 34 + 34)])
        #expect(Array(q8_1[(b * 36 + 4)..<(b * 36 + 36)]) == qs)
        let sum = qs.reduce(0) { $0 + Int(Int8(bitPattern: $1)) }
        let d = halfToFloat(UInt16(q8_0[b * 34]) | UInt16(q8_0[b * 34 + 1]) << 8)
        #expect(UInt16(q8_1[b * 36 + 2]) | UInt16(q8_1[b * 36 + 3]) << 8 == floatToHalf(d * Float(sum)))
    }
}

/// Extreme codes: every weight code at its largest and smallest, activations at ±127, no int16 overflow.
@Test(arguments: integerTypes)
func extremeCodesDoNotOverflow(type: GGMLType) {
    let cols = type.blockSize == 256 ? 512 : 64, rows = 4
    var random = TestRandom(seed: 2)
    var stored = randomWeights(type, count: rows * cols, random: &random)
    // Rows 0 and 1: all code bits set / clear outside the scales (the scales stay as generated).
    let size = type.bytesPerBlock
    let scaleBytes: Set<Int> = switch type {
    case .q8_0, .q4_0, .q5_0: [0, 1]
    case .q4_1, .q5_1: [0, 1, 2, 3]
    case .q4_K, .q5_K: Set(0..<16)
    case .q6_K: Set(192..<210)
    default: []
    }
    let rowBytes = type.rowBytes(cols)!
    for (row, fill) in [(0, UInt8(0xFF)), (1, UInt8(0x00))] {
        for i in 0..<rowBytes where !scaleBytes.contains(i % size) {
            // Q8_0's codes are signed: -128 is not a weight ggml writes; use -127.
            stored[row * rowBytes + i] = type == .q8_0 && fill == 0 ? 0x81 : fill
        }
    }
    let weights = dequantized(type, stored, count: rows * cols)
    for x in [[Float](repeating: 1, count: cols), (0..<cols).map { $0 % 2 == 0 ? Float(1) : -1 }] {
        let y = matvecOf(type, stored, rows: rows, cols: cols, x, threads: 1)
        let exact = referenceProduct(weights, rows: rows, activationsSeenBy(type, x))
        let correction = halfSumCorrection(type, stored, rows: rows, x)
        for r in 0..<rows {
            #expect(abs(Double(y[r]) - exact[r].dot - correction[r]) <= 2e-6 * exact[r].magnitude + 1e-6, "\(type) row \(r): \(y[r]) vs \(exact[r].dot)")
        }
    }
}

@Test func weightMatrixChecksWhatAFileCanGetWrong() throws {
    let bytes = [UInt8](repeating: 0, count: 210 * 4)
    try bytes.withUnsafeBytes { buffer in
        #expect(throws: QuantizationError.partialBlock(type: .q6_K, count: 300)) {
            try WeightMatrix(type: .q6_K, rows: 2, cols: 300, bytes: buffer)
        }
        #expect(throws: QuantizationError.truncated(type: .q6_K, count: 1280, needed: 1050, available: 840)) {
            try WeightMatrix(type: .q6_K, rows: 5, cols: 256, bytes: buffer)
        }
        #expect(throws: QuantizationError.self) { try WeightMatrix(type: .iq4_xs, rows: 1, cols: 256, bytes: buffer) }
        #expect(throws: QuantizationError.self) { try WeightMatrix(type: .q4_1, rows: -1, cols: 32, bytes: buffer) }
        #expect(throws: QuantizationError.self) { try WeightMatrix(type: .q4_1, rows: Int.max / 2, cols: 64, bytes: buffer) }
        let m = try WeightMatrix(type: .q6_K, rows: 4, cols: 256, bytes: buffer)
        #expect(m.rowBytes == 210)
    }
}

/// The path a CPU without AVX-512 VNNI takes for batches: weights dequantized in tiles (the reference
/// dequantization) and sgemm on f32 activations, so it equals the reference product up to float rounding.
@Test(arguments: computeTypesUnderTest)
func sgemmBatchPathMatchesTheReference(type: GGMLType) {
    let rows = 133, cols = type.blockSize == 256 ? 512 : 288, batch = 7
    var random = TestRandom(seed: 31)
    let stored = randomWeights(type, count: rows * cols, random: &random)
    let weights = dequantized(type, stored, count: rows * cols)
    let x = random.floats(batch * cols)
    for threads in [1, 3] {
        var y = [Float](repeating: .nan, count: batch * rows)
        let pool = ThreadPool(threads: threads)
        stored.withUnsafeBytes { w in
            let matrix = WeightMatrix(type: type, rows: rows, cols: cols, data: w.baseAddress!)
            matmul(matrix, x, batch: batch, into: &y, pool: pool, allowInteger: false)
        }
        for i in 0..<batch {
            let expected = referenceProduct(weights, rows: rows, Array(x[(i * cols)..<((i + 1) * cols)]))
            for r in 0..<rows {
                #expect(abs(Double(y[i * rows + r]) - expected[r].dot) <= 1e-5 * expected[r].magnitude + 1e-6,
                        "\(type) [\(i)][\(r)] on \(threads) threads")
            }
        }
    }
}

/// Q8_0, Q4_0, Q4_1, Q5_0 and Q5_1 run AVX-512 VNNI forms where the CPU has them; their AVX2 forms (other x86
/// CPUs) compute the same integers and the same float operations in the same order: the same bits.
@Test(arguments: [GGMLType.q8_0, .q4_0, .q4_1, .q5_0, .q5_1])
func avx2FormsGiveTheSameBitsAsTheChosenOnes(type: GGMLType) {
    let rows = 45, cols = 320, blocks = cols / 32
    var random = TestRandom(seed: 8)
    let stored = randomWeights(type, count: rows * cols, random: &random)
    let x = random.floats(cols)
    let activation = activationType(for: type)
    var xq = [UInt8](repeating: 0, count: activation.rowBytes(cols)!)
    xq.withUnsafeMutableBytes { quantizeActivations(activation, x, count: cols, into: $0.baseAddress!) }
    var chosen = [Float](repeating: .nan, count: rows), avx2 = [Float](repeating: .nan, count: rows)
    let avx2Form: MatvecKernel = switch type {
    case .q8_0: ck_matvec_q8_0_avx2
    case .q4_0: ck_matvec_q4_0_avx2
    case .q4_1: ck_matvec_q4_1_avx2
    case .q5_0: ck_matvec_q5_0_avx2
    default: ck_matvec_q5_1_avx2
    }
    stored.withUnsafeBytes { w in
        let rowBytes = type.rowBytes(cols)!
        integerMatvecKernel(type)(w.baseAddress!, rowBytes, 0, rows, xq, blocks, &chosen)
        avx2Form(w.baseAddress!, rowBytes, 0, rows, xq, blocks, &avx2)
    }
    #expect(chosen == avx2, "\(type)")
}

/// Any bytes are a valid block: NaN and infinite scales, every code. Nothing may trap on them (nor on
/// non-finite activations); the results are whatever the arithmetic gives.
@Test(arguments: computeTypesUnderTest)
func arbitraryBytesAndNonFiniteActivationsNeverTrap(type: GGMLType) {
    let rows = 11, cols = type.blockSize == 256 ? 512 : 96, batch = 3
    var random = TestRandom(seed: 99)
    let stored = (0..<(type.rowBytes(cols)! * rows)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
    var x = random.floats(batch * cols, scale: 4)
    x[1] = .nan
    x[cols + 2] = .infinity
    x[2 * cols + 3] = -.infinity
    var y = [Float](repeating: 0, count: batch * rows)
    let pool = ThreadPool(threads: 2)
    stored.withUnsafeBytes { w in
        let matrix = WeightMatrix(type: type, rows: rows, cols: cols, data: w.baseAddress!)
        matvec(matrix, x, into: &y, pool: pool)
        matmul(matrix, x, batch: batch, into: &y, pool: pool)
        matmul(matrix, x, batch: batch, into: &y, pool: pool, allowInteger: false)
    }
    _ = dequantized(type, stored, count: rows * cols)
    if Quantization.quantizableTypes.contains(type) { _ = quantized(type, x) }
    _ = quantized(.q8_K, Array(x[0..<256]))
}

/// Q4_1's one kernel for a token and for several rows: each activation row of a call gets the bits it gets
/// alone, in the AVX-512 and the AVX2 form alike, with an odd block count (a half-empty last pair) and more
/// rows than one group of eight; and the sums are the reference product's.
@Test(arguments: [7, 10])
func q4_1RowsGiveEachRowItsSingleTokenBits(blocks: Int) {
    let rows = 37, cols = 32 * blocks, n = 11
    var random = TestRandom(seed: 21)
    let stored = randomWeights(.q4_1, count: rows * cols, random: &random)
    let x = random.floats(n * cols, scale: 2)
    let stride = 36 * blocks + 12   // rows need not be packed
    var xq = [UInt8](repeating: 0xee, count: n * stride)
    xq.withUnsafeMutableBytes { buffer in
        for j in 0..<n { x.withUnsafeBufferPointer { quantizeActivations(.q8_1, $0.baseAddress! + j * cols, count: cols, into: buffer.baseAddress! + j * stride) } }
    }
    let rowBytes = GGMLType.q4_1.rowBytes(cols)!
    var alone = [Float](repeating: .nan, count: n * rows), aloneAVX2 = alone, together = alone, togetherAVX2 = alone
    stored.withUnsafeBytes { w in
        xq.withUnsafeBytes { xb in
            for j in 0..<n {
                alone.withUnsafeMutableBufferPointer { ck_matvec_q4_1(w.baseAddress!, rowBytes, 0, rows, xb.baseAddress! + j * stride, blocks, $0.baseAddress! + j * rows) }
                aloneAVX2.withUnsafeMutableBufferPointer { ck_matvec_q4_1_avx2(w.baseAddress!, rowBytes, 0, rows, xb.baseAddress! + j * stride, blocks, $0.baseAddress! + j * rows) }
            }
            // Two calls over row ranges, as the thread pool splits them.
            for range in [0..<20, 20..<rows] {
                ck_matvec_rows_q4_1(w.baseAddress!, rowBytes, range.lowerBound, range.upperBound, xb.baseAddress!, stride, n, blocks, &together, rows)
                ck_matvec_rows_q4_1_avx2(w.baseAddress!, rowBytes, range.lowerBound, range.upperBound, xb.baseAddress!, stride, n, blocks, &togetherAVX2, rows)
            }
        }
    }
    #expect(together == alone)
    #expect(togetherAVX2 == alone)
    #expect(aloneAVX2 == alone)
    let weights = dequantized(.q4_1, stored, count: rows * cols)
    for j in 0..<n {
        let seen = activationsSeenBy(.q4_1, Array(x[(j * cols)..<((j + 1) * cols)]))
        let expected = referenceProduct(weights, rows: rows, seen)
        let correction = halfSumCorrection(.q4_1, stored, rows: rows, Array(x[(j * cols)..<((j + 1) * cols)]))
        for r in 0..<rows {
            let want = expected[r].dot + correction[r]
            #expect(abs(Double(alone[j * rows + r]) - want) <= 1e-5 * expected[r].magnitude + 1e-5, "row \(j), output \(r)")
        }
    }
}

/// Q4_1 and Q8_0 packed sixteen rows at a time (AVX-512 VNNI, what a model file's matrices get at load): a
/// token, a call of several rows and a prompt batch give each row the same bits, with row counts off the
/// group of 16, odd block counts and split over threads; and the sums are the reference product's.
@Test(arguments: [GGMLType.q4_1, .q8_0], [(37, 7), (48, 10), (5, 2), (300, 16)])
func packedRowsGiveEachRowItsSingleTokenBits(type: GGMLType, shape: (Int, Int)) {
    let (rows, blocks) = shape
    let cols = 32 * blocks, n = 11
    var random = TestRandom(seed: UInt64(rows * 100 + blocks))
    let stored = randomWeights(type, count: rows * cols, random: &random)
    let x = random.floats(n * cols, scale: 2)
    let pool = ThreadPool(threads: 2)
    var alone = [Float](repeating: .nan, count: n * rows), together = alone, batch = alone
    stored.withUnsafeBytes { bytes in
        let w = WeightMatrix(type: type, rows: rows, cols: cols, data: bytes.baseAddress!).packedForProducts()
        #expect((w.packed != nil) == useVNNIMatmul)
        x.withUnsafeBufferPointer { xp in
            alone.withUnsafeMutableBufferPointer { yp in
                for j in 0..<n { matvec(w, xp.baseAddress! + j * cols, into: yp.baseAddress! + j * rows, pool: pool) }
            }
            together.withUnsafeMutableBufferPointer { yp in matvecRows(w, xp.baseAddress!, rows: n, into: yp.baseAddress!, pool: pool) }
            batch.withUnsafeMutableBufferPointer { yp in matmul(w, xp.baseAddress!, batch: n, into: yp.baseAddress!, pool: pool) }
        }
    }
    if useVNNIMatmul { #expect(batch.map(\.bitPattern) == alone.map(\.bitPattern)) }
    // Rows read back from the packed copy (a tied embedding's lookups) are the stored rows' values.
    stored.withUnsafeBytes { bytes in
        let plain = WeightMatrix(type: type, rows: rows, cols: cols, data: bytes.baseAddress!)
        let w = plain.packedForProducts()
        var fromPacked = [Float](repeating: .nan, count: cols), fromFile = fromPacked
        for r in 0..<rows {
            w.dequantizeRow(r, into: &fromPacked)
            Quantization.dequantize(type, plain.row(r), count: cols, into: &fromFile)
            #expect(fromPacked.map(\.bitPattern) == fromFile.map(\.bitPattern), "row \(r)")
        }
    }
    #expect(together.map(\.bitPattern) == alone.map(\.bitPattern))
    let weights = dequantized(type, stored, count: rows * cols)
    for j in 0..<n {
        let row = Array(x[(j * cols)..<((j + 1) * cols)])
        let expected = referenceProduct(weights, rows: rows, activationsSeenBy(type, row))
        let correction = halfSumCorrection(type, stored, rows: rows, row)
        for r in 0..<rows {
            #expect(abs(Double(alone[j * rows + r]) - (expected[r].dot + correction[r])) <= 1e-5 * expected[r].magnitude + 1e-5,
                    "row \(j), output \(r)")
        }
    }
}
