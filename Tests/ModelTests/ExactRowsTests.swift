import Foundation
import Kernels
import TestFixtures
import Testing
@testable import Model

private let rowsTokens: [Int32] = [1, 70, 80, 90, 100, 110, 120, 30, 40, 50, 60, 265, 266, 3, 200, 2, 9, 10, 11, 12]

/// The verification pass (`appendReturningExactLogits`) gives, row for row, the very bits of appending
/// the tokens one at a time, for the weight types real models use, after a cached prefix, for short and
/// long row counts; and it leaves the same keys and values behind (the next token's logits agree too).
@Test(arguments: [GGMLType.f32, .q8_0, .q4_0, .q4_1, .q5_0, .q5_1, .bf16, .f16])
func exactRowsEqualTokenByToken(type: GGMLType) throws {
    let (model, _) = try Fixtures.randomModel(type: type, tiedOutput: type == .q8_0)
    let context = InferenceContext(model: model, threads: 2)
    let prefix = Array(rowsTokens.prefix(5))
    try context.append(prefix)
    var sequential: [[Float]] = []
    for token in rowsTokens.dropFirst(5) { sequential.append(try context.append([token])) }
    let next = try context.append([42])
    for split in [1, 3, 15] {
        context.truncate(to: 5)
        let rest = Array(rowsTokens.dropFirst(5))
        var rows = try context.appendReturningExactLogits(Array(rest.prefix(split)))
        if split < rest.count { rows += try context.appendReturningExactLogits(Array(rest.dropFirst(split))) }
        #expect(rows.count == sequential.count)
        for (i, row) in rows.enumerated() {
            #expect(row == sequential[i], "\(type), split \(split), row \(i)")
        }
        #expect(try context.append([42]) == next, "\(type), split \(split): the cache the rows left")
    }
    // Why the verification pass has its own path: the batched one rounds differently (Q4_0's integer GEMM);
    // except Q4_1 and Q8_0 packed for AVX-512 VNNI, whose batches run the single-token kernel (attention for
    // a batch this short is `attentionRows` too), so there a batch gives a token's bits.
    if type == .q4_1 || type == .q8_0 || type == .q4_0 {
        context.truncate(to: 5)
        let batched = try context.appendReturningAllLogits(Array(rowsTokens.dropFirst(5)))
        if type != .q4_0 && model.weights.layers[0].query.packed != nil {
            #expect(batched == sequential, "\(type) packed: a batch was expected to give a token's bits")
        } else {
            #expect(batched != sequential, "\(type): the batched rows were expected to differ in rounding")
        }
    }
}

/// `matvecRows` is `matvec` per row, bit for bit, with tiles and threads in play.
@Test(arguments: [GGMLType.q8_0, .q4_0, .q4_1, .q5_1, .bf16, .f32])
func matvecRowsEqualsMatvec(type: GGMLType) throws {
    let rows = 300, cols = 512, n = 5
    var rng = SplitMix64(seed: 3)
    func random() -> Float { Float(Double(rng.next() >> 11) / Double(1 << 53)) * 2 - 1 }
    let weights = (0..<rows * cols).map { _ in random() }
    let data = UnsafeMutableRawPointer.allocate(byteCount: type.rowBytes(cols)! * rows, alignment: 64)
    defer { data.deallocate() }
    weights.withUnsafeBufferPointer { Quantization.quantize(type, $0.baseAddress!, count: rows * cols, into: data) }
    let w = WeightMatrix(type: type, rows: rows, cols: cols, data: data)
    let x = (0..<n * cols).map { _ in random() }
    let pool = ThreadPool(threads: 2)
    var expected = [Float](repeating: 0, count: n * rows), got = expected
    for i in 0..<n {
        x.withUnsafeBufferPointer { xp in expected.withUnsafeMutableBufferPointer { yp in
            matvec(w, xp.baseAddress! + i * cols, into: yp.baseAddress! + i * rows, pool: pool)
        } }
    }
    x.withUnsafeBufferPointer { xp in got.withUnsafeMutableBufferPointer { yp in
        matvecRows(w, xp.baseAddress!, rows: n, into: yp.baseAddress!, pool: pool)
    } }
    #expect(got == expected)
}

/// On a real model (UNDERSTUDY_TEACHER=path to a GGUF, e.g. SmolLM2-135M-Instruct Q4_1): the batched
/// prompt path and the single-token path differ in rounding, while the verification rows equal the
/// single-token path. Prints the differences found (the model card's exactness note).
@Test(.enabled(if: ProcessInfo.processInfo.environment["UNDERSTUDY_TEACHER"] != nil))
func teacherBatchAndSingleTokenPaths() throws {
    let model = try LlamaModel(path: ProcessInfo.processInfo.environment["UNDERSTUDY_TEACHER"]!)
    let text = """
    import os

    def read_lines(path):
        with open(path) as handle:
            return [line.rstrip() for line in handle]

    def main():
        for name in os.listdir("."):
            if name.endswith(".py"):
                print(name, len(read_lines(name)))
    """
    let tokens = model.tokenizer.encode(text)
    let context = InferenceContext(model: model, threads: 2)
    let head = 8
    try context.append(Array(tokens.prefix(head)))
    var single: [[Float]] = []
    for token in tokens.dropFirst(head) { single.append(try context.append([token])) }
    context.truncate(to: head)
    let exact = try context.appendReturningExactLogits(Array(tokens.dropFirst(head)))
    var batchedRuns: [[[Float]]] = []
    for chunk in [4, 16] {
        context.truncate(to: head)
        var rows: [[Float]] = []
        var start = head
        while start < tokens.count {
            let end = min(tokens.count, start + chunk)
            rows += try context.appendReturningAllLogits(Array(tokens[start..<end]))
            start = end
        }
        batchedRuns.append(rows)
    }
    #expect(exact == single)
    for (run, rows) in zip([4, 16], batchedRuns) {
        var differing = 0, flips = 0
        var worst: Float = 0
        for (a, b) in zip(rows, single) {
            if a != b { differing += 1 }
            worst = max(worst, zip(a, b).map { abs($0 - $1) }.max()!)
            if Sampler.argmax(a) != Sampler.argmax(b) { flips += 1 }
        }
        print("batched in chunks of \(run): \(differing)/\(single.count) rows differ from single-token, max |Δlogit| \(worst), argmax flips \(flips); VNNI GEMM: \(useVNNIMatmul)")
    }
}
