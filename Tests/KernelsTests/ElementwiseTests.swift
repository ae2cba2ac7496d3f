import Testing
@testable import Kernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@Test(arguments: [1, 7, 288, 301])
func rmsNormMatchesReference(count: Int) {
    var random = TestRandom(seed: UInt64(count))
    let x = random.floats(count, scale: 3), weight = random.floats(count)
    var out = [Float](repeating: 0, count: count)
    rmsNorm(x, weight: weight, count: count, epsilon: 1e-5, into: &out)
    let mean = x.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(count)
    let scale = 1 / (mean + 1e-5).squareRoot()
    let expected = (0..<count).map { Float(Double(x[$0]) * scale * Double(weight[$0])) }
    #expect(maxDifference(out, expected) <= 1e-5)
}

@Test(arguments: [1, 5, 64, 515])
func softmaxMatchesReference(count: Int) {
    var random = TestRandom(seed: UInt64(count) + 100)
    var x = random.floats(count, scale: 20)
    x[0] = 1000  // would overflow without subtracting the maximum
    let m = x.map(Double.init).max()!
    let e = x.map { exp(Double($0) - m) }
    let total = e.reduce(0, +)
    let expected = e.map { Float($0 / total) }
    softmax(&x, count: count)
    #expect(maxDifference(x, expected) <= 1e-6)
    #expect(abs(x.reduce(0, +) - 1) <= 1e-5)
}

@Test(arguments: [1, 7, 64, 8192 + 3])
func scaledSoftmaxMatchesReferenceAndReturnsLogSumExp(count: Int) {
    var random = TestRandom(seed: UInt64(count) + 200)
    let x = random.floats(count, scale: 30)
    let factor: Float = 0.5
    let scaled = x.map { Double($0) * Double(factor) }
    let m = scaled.max()!
    let total = scaled.reduce(0.0) { $0 + exp($1 - m) }
    let expectedLSE = m + log(total)
    var out = [Float](repeating: .nan, count: count)
    let lse = softmax(x, scale: factor, count: count, into: &out)
    #expect(abs(Double(lse) - expectedLSE) <= 1e-4 * max(1, abs(expectedLSE)))
    #expect(maxDifference(out, scaled.map { Float(exp($0 - expectedLSE)) }) <= 1e-6)
}

@Test func vectorExpIsAccurate() {
    var random = TestRandom(seed: 9)
    for _ in 0..<2000 {
        let lanes = SIMD8<Float>((0..<8).map { _ in random.float(80) })
        let result = vectorExp(lanes)
        for i in 0..<8 {
            let exact = exp(Double(lanes[i]))
            #expect(abs(Double(result[i]) - exact) <= 3e-7 * exact, "e^\(lanes[i])")
        }
    }
    #expect(vectorExp(SIMD8(repeating: -1000)).max() < 1e-37)
    #expect(vectorExp(SIMD8(repeating: 1000)).min().isFinite)
}

@Test func ropeRotatesAdjacentPairsLikeLlamaCppModeZero() {
    let heads = 3, headDim = 8, position = 7
    let theta: Float = 10000
    var random = TestRandom(seed: 21)
    let x = random.floats(heads * headDim)
    var rotated = x
    applyRoPE(&rotated, heads: heads, headDim: headDim, position: position, theta: theta)
    for h in 0..<heads {
        for i in 0..<(headDim / 2) {
            let angle = Double(position) * pow(Double(theta), -2 * Double(i) / Double(headDim))
            let x0 = Double(x[h * headDim + 2 * i]), x1 = Double(x[h * headDim + 2 * i + 1])
            #expect(abs(Double(rotated[h * headDim + 2 * i]) - (x0 * cos(angle) - x1 * sin(angle))) <= 1e-6)
            #expect(abs(Double(rotated[h * headDim + 2 * i + 1]) - (x0 * sin(angle) + x1 * cos(angle))) <= 1e-6)
        }
    }
    var unmoved = x
    applyRoPE(&unmoved, heads: heads, headDim: headDim, position: 0, theta: theta)
    #expect(unmoved == x)
}

@Test(arguments: [3, 8, 768, 773])
func swigluMatchesReference(count: Int) {
    var random = TestRandom(seed: UInt64(count) + 7)
    let gate = random.floats(count, scale: 12), up = random.floats(count)
    var out = [Float](repeating: 0, count: count)
    swiglu(gate: gate, up: up, count: count, into: &out)
    let expected = (0..<count).map { i -> Float in
        let g = Double(gate[i])
        return Float(g / (1 + exp(-g)) * Double(up[i]))
    }
    #expect(maxDifference(out, expected) <= 2e-6)
}

@Test func addWorksInPlace() {
    var random = TestRandom(seed: 4)
    let b = random.floats(29)
    var a = random.floats(29)
    let expected = zip(a, b).map { $0 + $1 }
    a.withUnsafeMutableBufferPointer { p in
        add(p.baseAddress!, b, count: 29, into: p.baseAddress!)
    }
    #expect(a == expected)
}

/// The table that inference and training rotate with gives applyRoPE's bits at every position.
@Test func ropeTableRotatesExactlyLikeApplyRoPE() {
    var random = TestRandom(seed: 21)
    let heads = 3, headDim = 16, theta: Float = 10_000
    let table = RoPETable(sequence: 40, headDim: headDim, theta: theta)
    for position in [0, 1, 17, 39] {
        let x = random.floats(heads * headDim)
        var direct = x, viaTable = x
        applyRoPE(&direct, heads: heads, headDim: headDim, position: position, theta: theta)
        table.rotate(&viaTable, heads: heads, position: position)
        #expect(direct == viaTable, "position \(position)")
    }
}
