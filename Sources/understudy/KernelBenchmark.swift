import ArgumentParser
import Foundation
import Kernels

/// Measures the kernels' throughput on model-sized shapes (build with -c release for real numbers).
struct BenchKernels: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-kernels",
        abstract: "Print GFLOP/s of the SIMD and BLAS kernels at the default model's shapes.")

    @Option(help: "Threads for the parallel rows (the single-thread rows always use 1).")
    var threads: Int = 2

    @Option(help: "Seconds to spend measuring each row.")
    var seconds: Double = 0.3

    @Flag(help: "Only the table of every weight type at SmolLM2-135M's shapes.")
    var typesOnly = false

    func validate() throws {
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
        guard seconds > 0 else { throw ValidationError("--seconds must be positive") }
    }

    func run() throws {
        let single = ThreadPool(threads: 1)
        let pool = ThreadPool(threads: threads)
        if typesOnly {
            typeTable(single: single, pool: pool)
            return
        }
        print("kernel".padding(toLength: 44, withPad: " ", startingAt: 0), "threads", "      µs/call", "   GFLOP/s")

        let a = randomFloats(4096), b = randomFloats(4096)
        for n in [288, 4096] {
            var sink: Float = 0
            report("f32 dot \(n)", 1, flops: 2 * n) { sink += dot(a, b, count: n) }
            if sink.isNaN { print("") }
        }

        let x = randomFloats(8192 * 768)
        let y = UnsafeMutablePointer<Float>.allocate(capacity: 8192 * 768)
        defer { y.deallocate() }
        var matrices: [GGMLType: [String: WeightMatrix]] = [:]
        var storage: [UnsafeMutableRawPointer] = []
        defer { storage.forEach { $0.deallocate() } }
        let shapes = [(288, 288), (288, 768), (768, 288), (8192, 288)]
        for type in [GGMLType.f32, .f16, .q8_0, .q4_0] {
            for (rows, cols) in shapes {
                let bytes = UnsafeMutableRawPointer.allocate(byteCount: type.rowBytes(cols)! * rows, alignment: 64)
                storage.append(bytes)
                let values = randomFloats(rows * cols)
                Quantization.quantize(type, values, count: rows * cols, into: bytes)
                matrices[type, default: [:]]["\(rows)x\(cols)"] = WeightMatrix(type: type, rows: rows, cols: cols, data: bytes)
            }
        }

        for type in [GGMLType.q8_0, .q4_0, .f16, .f32] {
            for shape in ["288x768", "768x288", "8192x288"] {
                let w = matrices[type]![shape]!
                for p in [single, pool] where p === single || threads > 1 {
                    report("matvec \(type) \(shape)", p.threadCount, flops: 2 * w.rows * w.cols) {
                        matvec(w, x, into: y, pool: p)
                    }
                }
            }
        }

        for type in [GGMLType.f32, .f16, .q8_0, .q4_0] {
            for shape in ["768x288", "288x768"] {
                let w = matrices[type]![shape]!
                report("matmul \(type) \(shape) batch 512", threads, flops: 2 * 512 * w.rows * w.cols) {
                    matmul(w, x, batch: 512, into: y, pool: pool)
                }
            }
        }
        // The alternative we rejected: one sgemm call threaded by OpenBLAS itself.
        let w32 = matrices[.f32]!["768x288"]!
        setBLASThreads(threads)
        report("sgemm 768x288 batch 512 (OpenBLAS threads)", threads, flops: 2 * 512 * 768 * 288) {
            gemm(transposeB: true, m: 512, n: 768, k: 288, a: x, lda: 288,
                 b: w32.data.assumingMemoryBound(to: Float.self), ldb: 288, c: y, ldc: 768)
        }
        setBLASThreads(1)

        let heads = 6, headDim = 48, dim = heads * headDim
        // The KV cache holds half floats.
        let keys = randomFloats(512 * dim).map(floatToHalf), values = randomFloats(512 * dim).map(floatToHalf)
        // Useful work only: the causal mask halves QKᵀ and PV.
        let causalFlops = 2 * 2 * heads * headDim * 512 * 513 / 2
        report("causal attention 512 tokens (6x48)", threads, flops: causalFlops) {
            causalAttention(queries: x, count: 512, start: 0, keys: keys, values: values, heads: heads,
                            kvHeads: heads, headDim: headDim, into: y, pool: pool)
        }
        for p in [single, pool] where p === single || threads > 1 {
            report("attention 1 query over 512 (6x48)", p.threadCount, flops: 4 * heads * headDim * 512) {
                attention(query: x, keys: keys, values: values, length: 512, heads: heads, kvHeads: heads,
                          headDim: headDim, into: y, pool: p)
            }
        }
        // SmolLM2-135M's attention (9 query heads over 3 kv heads of 64) at a served prompt's length:
        // one generated token, and 8 drafted rows verified at once.
        let cached = 1024, smolKV = 3 * 64, smolQ = 9 * 64
        let smolKeys = randomFloats((cached + 8) * smolKV).map(floatToHalf), smolValues = randomFloats((cached + 8) * smolKV).map(floatToHalf)
        let smolQueries = randomFloats(8 * smolQ)
        var smolOut = [Float](repeating: 0, count: 8 * smolQ)
        for rows in [1, 8] {
            for p in [single, pool] where p === single || threads > 1 {
                report("attention \(rows) row(s) over \(cached) (9/3x64)", p.threadCount,
                       flops: 4 * 9 * 64 * (rows * cached + rows * (rows + 1) / 2)) {
                    attentionRows(queries: smolQueries, count: rows, start: cached, keys: smolKeys, values: smolValues,
                                  heads: 9, kvHeads: 3, headDim: 64, into: &smolOut, pool: p)
                }
            }
        }
        report("empty parallelFor dispatch", threads, flops: 0) {
            pool.parallelFor(threads) { _, _ in }
        }

        print("\nmodel-shaped token (7 matvecs x 6 layers + classifier + attention over 256):")
        for type in [GGMLType.q8_0, .q4_0] {
            let m = matrices[type]!
            let perToken = timePerCall {
                for _ in 0..<6 {
                    for _ in 0..<4 { matvec(m["288x288"]!, x, into: y, pool: pool) }
                    matvec(m["768x288"]!, x, into: y, pool: pool)
                    matvec(m["768x288"]!, x, into: y, pool: pool)
                    matvec(m["288x768"]!, x, into: y, pool: pool)
                    attention(query: x, keys: keys, values: values, length: 256, heads: heads, kvHeads: heads,
                              headDim: headDim, into: y, pool: pool)
                }
                matvec(m["8192x288"]!, x, into: y, pool: pool)
            }
            print("  \(type), \(threads) threads: \(String(format: "%.3f", perToken * 1e3)) ms/token, "
                  + "\(String(format: "%.0f", 1 / perToken)) tokens/s")
        }
        print("\nprompt-shaped batch of 512 (matmuls of 6 layers + causal attention; logits for the last token only):")
        for type in [GGMLType.q8_0, .q4_0] {
            let m = matrices[type]!
            let perBatch = timePerCall {
                for _ in 0..<6 {
                    for _ in 0..<4 { matmul(m["288x288"]!, x, batch: 512, into: y, pool: pool) }
                    matmul(m["768x288"]!, x, batch: 512, into: y, pool: pool)
                    matmul(m["768x288"]!, x, batch: 512, into: y, pool: pool)
                    matmul(m["288x768"]!, x, batch: 512, into: y, pool: pool)
                    causalAttention(queries: x, count: 512, start: 0, keys: keys, values: values, heads: heads,
                                    kvHeads: heads, headDim: headDim, into: y, pool: pool)
                }
                matvec(m["8192x288"]!, x, into: y, pool: pool)
            }
            print("  \(type), \(threads) threads: \(String(format: "%.1f", perBatch * 1e3)) ms/batch, "
                  + "\(String(format: "%.0f", 512 / perBatch)) tokens/s")
        }
    }

    /// Every weight type side by side at SmolLM2-135M's shapes (dim 576, feed-forward 1536, vocabulary
    /// 49152): GOP/s (2 per multiply-add) of single-token matvecs and of batch-512 matmuls. The K-quants
    /// need rows of whole 256-blocks, so their 576-wide matrices are 768 wide (marked *), as llama.cpp
    /// stores such tensors in another type.
    private func typeTable(single: ThreadPool, pool: ThreadPool) {
        let types: [GGMLType] = [.f32, .f16, .bf16, .q8_0, .q4_0, .q4_1, .q5_0, .q5_1, .q4_K, .q5_K, .q6_K]
        let x = randomFloats(512 * 1536)
        let y = UnsafeMutablePointer<Float>.allocate(capacity: 512 * 49152)
        defer { y.deallocate() }
        print("GOP/s at SmolLM2-135M shapes (rows x cols), fastest of 10 rounds; mv = one token, mm = batch 512; "
              + "integer batch path: \(useVNNIMatmul ? "AVX-512 VNNI" : "no (sgemm on dequantized tiles)")")
        let columns = ["mv 1536x576", "mv 576x1536", "mv 49152x576", "mm 1536x576", "mm 576x1536"]
        print("type  ".padding(toLength: 8, withPad: " ", startingAt: 0)
              + columns.map { ($0 + " 1t").leftPadded(17) + "\(threads)t".leftPadded(6) }.prefix(3).joined()
              + columns.suffix(2).map { ($0 + " \(threads)t").leftPadded(17) }.joined())
        for type in types {
            let wide = type.blockSize == 256 ? 768 : 576
            let shapes = [(1536, wide), (576, 1536), (49152, wide)]
            var cells: [String] = []
            var matrices: [WeightMatrix] = []
            var storage: [UnsafeMutableRawPointer] = []
            defer { storage.forEach { $0.deallocate() } }
            for (rows, cols) in shapes {
                let bytes = UnsafeMutableRawPointer.allocate(byteCount: type.rowBytes(cols)! * rows, alignment: 64)
                storage.append(bytes)
                fillWeights(type, rows: rows, cols: cols, into: bytes)
                // Packed as a model file's matrices are at load (Q4_1 and Q8_0 with AVX-512 VNNI), so the figures are what ships.
                matrices.append(WeightMatrix(type: type, rows: rows, cols: cols, data: bytes).packedForProducts())
            }
            for w in matrices {
                let ops = 2.0 * Double(w.rows * w.cols)
                let one = bestTimePerCall { matvec(w, x, into: y, pool: single) }
                let many = threads > 1 ? bestTimePerCall { matvec(w, x, into: y, pool: pool) } : one
                cells.append(String(format: "%11.1f", ops / one / 1e9) + String(format: "%6.1f", ops / many / 1e9))
            }
            for w in matrices.prefix(2) {
                let perCall = bestTimePerCall { matmul(w, x, batch: 512, into: y, pool: pool) }
                cells.append(String(format: "%17.1f", 2.0 * 512 * Double(w.rows * w.cols) / perCall / 1e9))
            }
            let mark = type.blockSize == 256 ? "*" : " "
            print("\(type)\(mark)".padding(toLength: 8, withPad: " ", startingAt: 0) + cells.joined())
        }
        smolLMToken(pool: pool, x: x, y: y)
    }

    /// The matvecs of one SmolLM2-135M token (30 layers: q, o 576x576; k, v 192x576; gate, up 1536x576;
    /// down 576x1536; then the tied Q8_0 classifier 49152x576), attention and norms left out; and the same
    /// products for 5 rows at once (`matvecRows`, speculative decoding's verification).
    private func smolLMToken(pool: ThreadPool, x: [Float], y: UnsafeMutablePointer<Float>) {
        print("\nSmolLM2-135M token, matvecs only (30 layers + Q8_0 classifier 49152x576), \(threads) threads:")
        var storage: [UnsafeMutableRawPointer] = []
        func matrix(_ type: GGMLType, _ rows: Int, _ cols: Int) -> WeightMatrix {
            let bytes = UnsafeMutableRawPointer.allocate(byteCount: type.rowBytes(cols)! * rows, alignment: 64)
            storage.append(bytes)
            fillWeights(type, rows: rows, cols: cols, into: bytes)
            return WeightMatrix(type: type, rows: rows, cols: cols, data: bytes).packedForProducts()
        }
        let classifier = matrix(.q8_0, 49152, 576)
        defer { storage.forEach { $0.deallocate() } }
        for type in [GGMLType.q8_0, .q4_0, .q4_1, .q5_0, .q5_1] {
            let kept = storage.count
            defer {
                storage[kept...].forEach { $0.deallocate() }
                storage.removeSubrange(kept...)
            }
            // Separate matrices per layer, so the weights stream from memory as in a real model.
            let layers = (0..<30).map { _ in
                [matrix(type, 576, 576), matrix(type, 192, 576), matrix(type, 192, 576), matrix(type, 576, 576),
                 matrix(type, 1536, 576), matrix(type, 1536, 576), matrix(type, 576, 1536)]
            }
            let perToken = bestTimePerCall {
                for layer in layers { for w in layer { matvec(w, x, into: y, pool: pool) } }
                matvec(classifier, x, into: y, pool: pool)
            }
            // Speculative decoding's verification: 5 rows (a 4-token draft and the token before it) in one pass.
            let perRound = bestTimePerCall {
                for layer in layers { for w in layer { matvecRows(w, x, rows: 5, into: y, pool: pool) } }
                matvecRows(classifier, x, rows: 5, into: y, pool: pool)
            }
            print("  \(type): \(String(format: "%.2f", perToken * 1e3)) ms/token, \(String(format: "%.0f", 1 / perToken)) tokens/s; "
                  + "5 rows verified: \(String(format: "%.2f", perRound * 1e3)) ms (\(String(format: "%.2f", perRound / perToken))× a token)")
        }
    }

    /// Random weights of `type`: quantized random floats, or for the K-quants (which we only read) random
    /// blocks with small scales.
    private func fillWeights(_ type: GGMLType, rows: Int, cols: Int, into bytes: UnsafeMutableRawPointer) {
        if Quantization.quantizableTypes.contains(type) {
            let values = randomFloats(rows * cols)
            Quantization.quantize(type, values, count: rows * cols, into: bytes)
            return
        }
        var generator = FastRandom()
        let count = type.rowBytes(cols)! * rows
        for i in 0..<count { bytes.storeBytes(of: UInt8.random(in: 0...255, using: &generator), toByteOffset: i, as: UInt8.self) }
        let halves = type == .q6_K ? [208] : [0, 2]
        for block in 0..<(count / type.bytesPerBlock) {
            for offset in halves {
                bytes.storeBytes(of: floatToHalf(Float.random(in: -0.001...0.001, using: &generator)),
                                 toByteOffset: block * type.bytesPerBlock + offset, as: UInt16.self)
            }
        }
    }

    /// Prints one table row: time per call and GFLOP/s.
    private func report(_ name: String, _ threadCount: Int, flops: Int, _ body: () -> Void) {
        let perCall = timePerCall(body)
        let gflops = flops > 0 ? String(format: "%10.2f", Double(flops) / perCall / 1e9) : "         -"
        print(name.padding(toLength: 44, withPad: " ", startingAt: 0),
              String(format: "%7d %13.2f", threadCount, perCall * 1e6), gflops)
    }

    /// Seconds per call of `body` in the fastest of ten rounds of about `seconds` / 10 each: on a machine
    /// shared with other work the quietest round is the kernel's own speed.
    private func bestTimePerCall(_ body: () -> Void) -> Double {
        for _ in 0..<3 { body() }
        return (0..<10).map { _ in averageTimePerCall(body, seconds: seconds / 10) }.min()!
    }

    /// Seconds per call of `body`, after a warm-up, averaged over about `seconds` of calls.
    private func timePerCall(_ body: () -> Void) -> Double {
        for _ in 0..<3 { body() }
        return averageTimePerCall(body, seconds: seconds)
    }

    /// Seconds per call of `body`, averaged over calls for about `seconds`.
    private func averageTimePerCall(_ body: () -> Void, seconds: Double) -> Double {
        var calls = 0
        let start = DispatchTime.now().uptimeNanoseconds
        var elapsed: UInt64 = 0
        repeat {
            body()
            calls += 1
            elapsed = DispatchTime.now().uptimeNanoseconds - start
        } while Double(elapsed) < seconds * 1e9
        return Double(elapsed) / 1e9 / Double(calls)
    }

    private func randomFloats(_ count: Int) -> [Float] {
        var generator = FastRandom()
        return (0..<count).map { _ in Float.random(in: -1...1, using: &generator) }
    }
}

private extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}

/// SplitMix64 seeded from the system: the model-sized benchmarks need hundreds of millions of random
/// values, which the system generator makes too slowly.
private struct FastRandom: RandomNumberGenerator {
    var state = UInt64.random(in: 0...UInt64.max)

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
