import Testing
@testable import Kernels
import CKernels

/// W (rows x cols, random, stored as `type`) and x, with y computed by `matvec`.
private func runMatvec(_ type: GGMLType, rows: Int, cols: Int, threads: Int, seed: UInt64)
    -> (weights: [Float], x: [Float], y: [Float]) {
    var random = TestRandom(seed: seed)
    let stored = quantized(type, random.floats(rows * cols, scale: 0.5))
    let weights = dequantized(type, stored, count: rows * cols)
    let x = random.floats(cols, scale: 2)
    var y = [Float](repeating: .nan, count: rows)
    let pool = ThreadPool(threads: threads)
    stored.withUnsafeBytes { w in
        let matrix = WeightMatrix(type: type, rows: rows, cols: cols, data: w.baseAddress!)
        matvec(matrix, x, into: &y, pool: pool)
    }
    return (weights, x, y)
}

private func referenceDot(_ weights: [Float], row: Int, _ x: [Float]) -> (dot: Double, magnitude: Double) {
    var dot = 0.0, magnitude = 0.0
    for c in 0..<x.count {
        let p = Double(weights[row * x.count + c]) * Double(x[c])
        dot += p
        magnitude += abs(p)
    }
    return (dot, magnitude)
}

@Test(arguments: [GGMLType.f32, .f16, .q8_0, .q4_0], [(37, 96), (300, 288), (64, 768)])
func matvecMatchesScalarReference(type: GGMLType, shape: (Int, Int)) {
    let (rows, cols) = shape
    let (weights, x, y) = runMatvec(type, rows: rows, cols: cols, threads: 2, seed: UInt64(rows * cols))
    // Quantized types also quantize x to q8_0 (relative error ~1/254 per element).
    let relative = type == .f32 || type == .f16 ? 1e-5 : 1.5e-2
    for r in 0..<rows {
        let (dot, magnitude) = referenceDot(weights, row: r, x)
        #expect(abs(Double(y[r]) - dot) <= relative * magnitude + 1e-5, "\(type) row \(r): \(y[r]) vs \(dot)")
    }
}

@Test(arguments: [GGMLType.q8_0, .q4_0])
func integerDotEqualsDequantizedQ8Dot(type: GGMLType) {
    // With x rounded through q8_0 exactly as matvec does, the integer dot must equal the float dot of
    // the dequantized values up to float accumulation error.
    let rows = 50, cols = 288
    let (weights, x, y) = runMatvec(type, rows: rows, cols: cols, threads: 1, seed: 11)
    let xq = dequantized(.q8_0, quantized(.q8_0, x), count: cols)
    for r in 0..<rows {
        let (dot, magnitude) = referenceDot(weights, row: r, xq)
        #expect(abs(Double(y[r]) - dot) <= 1e-5 * magnitude + 1e-5, "\(type) row \(r): \(y[r]) vs \(dot)")
    }
}

@Test func matvecIsIdenticalAcrossThreadCounts() {
    let one = runMatvec(.q4_0, rows: 777, cols: 288, threads: 1, seed: 5).y
    let three = runMatvec(.q4_0, rows: 777, cols: 288, threads: 3, seed: 5).y
    #expect(one == three)
}

@Test(arguments: computeTypesUnderTest, [1, 5, 40])
func matmulMatchesReferenceAndMatvec(type: GGMLType, batch: Int) {
    let rows = 301, cols = type.blockSize == 256 ? 512 : 288   // not a whole number of 4-row tiles
    var random = TestRandom(seed: UInt64(batch))
    let stored = randomWeights(type, count: rows * cols, random: &random)
    let weights = dequantized(type, stored, count: rows * cols)
    let x = random.floats(batch * cols)
    var y = [Float](repeating: .nan, count: batch * rows)
    var rowByRow = [Float](repeating: .nan, count: batch * rows)
    let pool = ThreadPool(threads: 2)
    stored.withUnsafeBytes { w in
        let matrix = WeightMatrix(type: type, rows: rows, cols: cols, data: w.baseAddress!)
        matmul(matrix, x, batch: batch, into: &y, pool: pool)
        x.withUnsafeBufferPointer { xs in
            rowByRow.withUnsafeMutableBufferPointer { out in
                for i in 0..<batch {
                    matvec(matrix, xs.baseAddress! + i * cols, into: out.baseAddress! + i * rows, pool: pool)
                }
            }
        }
    }
    let quantizesX = integerTypes.contains(type)
    // With VNNI, quantized batches take matvec's integer products (the same integers; only the float
    // sums of the scaled blocks run in another order). Otherwise sgemm on f32 x.
    let integerPath = usesIntegerMatmul(type)
    for i in 0..<batch {
        for r in 0..<rows {
            let row = Array(x[(i * cols)..<((i + 1) * cols)])
            let (dot, magnitude) = referenceDot(weights, row: r, row)
            let value = Double(y[i * rows + r]), viaMatvec = Double(rowByRow[i * rows + r])
            #expect(abs(value - dot) <= (integerPath ? 1.5e-2 : 1e-5) * magnitude + 1e-5, "\(type) [\(i)][\(r)]: \(value) vs \(dot)")
            if integerPath {
                #expect(abs(value - viaMatvec) <= 1e-5 * magnitude + 1e-5, "\(type) [\(i)][\(r)]: \(value) vs \(viaMatvec)")
            } else {
                #expect(abs(value - viaMatvec) <= (quantizesX ? 1.5e-2 : 1e-5) * magnitude + 1e-5)
            }
        }
    }
}

/// Batches with partial row groups and activation tiles give each row what matvec gives it (up to float
/// summation order on the integer path; within quantization error on the sgemm path), and the same
/// bits on one thread and on three.
@Test(arguments: integerTypes)
func quantizedMatmulAgreesWithMatvecAtAnyShapeAndThreadCount(type: GGMLType) {
    var random = TestRandom(seed: 77)
    let k = type.blockSize == 256 ? 8 : 1   // K-quant rows are whole super-blocks of 256
    for (rows, cols, batch) in [(7, 32 * k, 3), (13, 64 * k, 6), (9, 768 * k, 2), (301, 288 * k, 41)] {
        let stored = randomWeights(type, count: rows * cols, random: &random)
        let x = random.floats(batch * cols, scale: 3)
        var results: [[Float]] = []
        for threads in [1, 3] {
            let pool = ThreadPool(threads: threads)
            var y = [Float](repeating: .nan, count: batch * rows)
            var rowByRow = [Float](repeating: .nan, count: batch * rows)
            stored.withUnsafeBytes { w in
                let matrix = WeightMatrix(type: type, rows: rows, cols: cols, data: w.baseAddress!)
                matmul(matrix, x, batch: batch, into: &y, pool: pool)
                x.withUnsafeBufferPointer { xs in
                    rowByRow.withUnsafeMutableBufferPointer { out in
                        for i in 0..<batch { matvec(matrix, xs.baseAddress! + i * cols, into: out.baseAddress! + i * rows, pool: pool) }
                    }
                }
            }
            let scale = rowByRow.map { abs($0) }.max() ?? 1
            let tolerance: Float = usesIntegerMatmul(type) ? 2e-6 : 0.05
            #expect(zip(y, rowByRow).allSatisfy { abs($0 - $1) <= tolerance * scale }, "\(type) \(rows)x\(cols) batch \(batch)")
            results.append(y)
        }
        #expect(results[0] == results[1], "\(type) \(rows)x\(cols) batch \(batch)")
    }
}

/// The AVX2 C kernels and the portable Swift SIMD dots must agree exactly on integer sums (up to float rounding).
@Test(arguments: [GGMLType.q8_0, .q4_0])
func intrinsicAndSwiftDotsAgree(type: GGMLType) {
    var rng = TestRandom(seed: 11)
    let rows = 37, cols = 288, blocks = cols / 32
    let w = quantized(type, rng.floats(rows * cols))
    let x = quantized(.q8_0, rng.floats(cols))
    var fromC = [Float](repeating: 0, count: rows)
    w.withUnsafeBytes { wp in
        x.withUnsafeBytes { xp in
            let rowBytes = type.rowBytes(cols)!
            if type == .q8_0 {
                ck_matvec_q8_0(wp.baseAddress!, rowBytes, 0, rows, xp.baseAddress!, blocks, &fromC)
            } else {
                ck_matvec_q4_0(wp.baseAddress!, rowBytes, 0, rows, xp.baseAddress!, blocks, &fromC)
            }
            for r in 0..<rows {
                let row = wp.baseAddress! + r * rowBytes
                let swift = type == .q8_0 ? dotQ8_0(row, xp.baseAddress!, blocks: blocks)
                                          : dotQ4_0(row, xp.baseAddress!, blocks: blocks)
                #expect(abs(swift - fromC[r]) <= 1e-4 * max(1, abs(swift)), "row \(r)")
            }
        }
    }
}

/// Activations are quantized like ggml's CPU backend: scale 127/max|x|, rounding half to even.
@Test func activationQuantizationMatchesGGMLsCPURounding() {
    var rng = TestRandom(seed: 5)
    var x = rng.floats(96)
    x[3] = 0.5 * (x.map(abs).max()! / 127)       // an exact tie, to check half-to-even
    x[64..<96] = ArraySlice(repeating: 0, count: 32)  // an all-zero block
    var out = [UInt8](repeating: 0, count: 3 * 34)
    ck_quantize_activations_q8_0(x, &out, x.count)
    for block in 0..<3 {
        let values = x[(block * 32)..<(block * 32 + 32)]
        let amax = values.map(abs).max()!
        let id: Float = amax != 0 ? 127 / amax : 0
        let d = out[block * 34..<block * 34 + 2].withUnsafeBytes { $0.loadUnaligned(as: UInt16.self) }
        #expect(d == floatToHalf(amax / 127))
        for (j, v) in values.enumerated() {
            let expected = Int8((v * id).rounded(.toNearestOrEven))
            #expect(Int8(bitPattern: out[block * 34 + 2 + j]) == expected, "block \(block) element \(j)")
        }
    }
}
