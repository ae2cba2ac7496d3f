import CKernels

/// A row-major matrix of `rows` rows, each `cols` elements of `type` stored in `type.rowBytes(cols)!` bytes
/// (this is how GGUF stores a 2-D tensor with ne0 = cols, ne1 = rows).
public struct WeightMatrix: @unchecked Sendable {
    public let type: GGMLType
    public let rows: Int
    public let cols: Int
    public let data: UnsafeRawPointer

    /// Wraps `data` (not copied, not owned); `cols` must be a whole number of `type` blocks.
    public init(type: GGMLType, rows: Int, cols: Int, data: UnsafeRawPointer) {
        precondition(rows >= 0 && type.rowBytes(cols) != nil,
                     "WeightMatrix: \(cols) columns is not a whole number of \(type) blocks of \(type.blockSize)")
        self.type = type
        self.rows = rows
        self.cols = cols
        self.data = data
    }

    /// Bytes per stored row.
    @inlinable
    public var rowBytes: Int { type.rowBytes(cols)! }

    /// The start of row `index`.
    @inlinable
    public func row(_ index: Int) -> UnsafeRawPointer { data + index * rowBytes }
}

/// Below this many multiply-adds a matvec runs on the calling thread: waking workers costs more.
let matvecParallelThreshold = 16_384

/// y[rows] = W · x[cols]. For q8_0/q4_0, x is first quantized to q8_0 blocks and the dot products are
/// integer (ggml's approach); f16/f32 use float dot products. Rows are split over the pool.
///
/// The q8_0 copy of x lives in the pool's shared scratch, so steady-state calls do not allocate.
public func matvec(_ w: WeightMatrix, _ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, pool: ThreadPool) {
    let cols = w.cols, rowBytes = w.rowBytes, data = w.data
    let parallel = w.rows * cols >= matvecParallelThreshold
    switch w.type {
    case .f32:
        let rows = data.assumingMemoryBound(to: Float.self)
        forRows(w.rows, parallel: parallel, pool: pool) { r in
            y[r] = dotF32(rows + r * cols, x, count: cols)
        }
    case .f16:
        forRows(w.rows, parallel: parallel, pool: pool) { r in
            y[r] = dotF16(data + r * rowBytes, x, count: cols)
        }
    case .q8_0, .q4_0:
        let blocks = cols / 32
        let xq = UnsafeRawPointer(pool.sharedScratch.reserve(blocks * 34))
        if useIntrinsicDots {
            // ggml's CPU rounding for activations (half to even, scale 127/max), so logits match llama.cpp's.
            ck_quantize_activations_q8_0(x, UnsafeMutableRawPointer(mutating: xq), cols)
        } else {
            Quantization.quantize(.q8_0, x, count: cols, into: UnsafeMutableRawPointer(mutating: xq))
        }
        if useIntrinsicDots {
            // AVX2 intrinsics (vpmaddubsw), about 2x the Swift SIMD version below on this machine.
            let kernel = w.type == .q8_0 ? ck_matvec_q8_0 : ck_matvec_q4_0
            forRowRanges(w.rows, parallel: parallel, pool: pool) { range in
                kernel(data, rowBytes, range.lowerBound, range.upperBound, xq, blocks, y)
            }
        } else if w.type == .q8_0 {
            forRows(w.rows, parallel: parallel, pool: pool) { r in
                y[r] = dotQ8_0(data + r * rowBytes, xq, blocks: blocks)
            }
        } else {
            forRows(w.rows, parallel: parallel, pool: pool) { r in
                y[r] = dotQ4_0(data + r * rowBytes, xq, blocks: blocks)
            }
        }
    default:
        preconditionFailure("matvec: unsupported weight type \(w.type); expected F32, F16, Q8_0 or Q4_0")
    }
}

/// Whether the C kernels were compiled with AVX2 (otherwise the portable Swift SIMD dots run).
let useIntrinsicDots = ck_has_avx2() != 0

/// Calls `body` with contiguous row ranges covering every row, split over the pool when `parallel`.
@inline(__always)
private func forRowRanges(_ rows: Int, parallel: Bool, pool: ThreadPool, _ body: (Range<Int>) -> Void) {
    if parallel {
        pool.parallelFor(rows) { range, _ in body(range) }
    } else {
        body(0..<rows)
    }
}

/// Calls `body` for every row, split over the pool when `parallel`.
@inline(__always)
private func forRows(_ rows: Int, parallel: Bool, pool: ThreadPool, _ body: (Int) -> Void) {
    if parallel {
        pool.parallelFor(rows) { range, _ in
            for r in range { body(r) }
        }
    } else {
        for r in 0..<rows { body(r) }
    }
}
