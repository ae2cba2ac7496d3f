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

    /// Wraps `bytes` after checking what a file could get wrong: a kernel type, `cols` a whole number of
    /// blocks, and enough bytes for `rows` rows (extra bytes are ignored).
    public init(type: GGMLType, rows: Int, cols: Int, bytes: UnsafeRawBufferPointer) throws(QuantizationError) {
        guard GGMLType.computeTypes.contains(type) else {
            throw .unsupportedType(type, operation: "multiply with", supported: GGMLType.computeTypes)
        }
        guard rows >= 0 else { throw .partialBlock(type: type, count: rows) }
        let rowBytes = try Quantization.checkedByteCount(type, count: cols, available: Int.max)
        let (total, overflow) = rowBytes.multipliedReportingOverflow(by: rows)
        guard !overflow else { throw .tooLarge(type: type, count: cols) }
        guard bytes.count >= total else {
            throw .truncated(type: type, count: rows * cols, needed: total, available: bytes.count)
        }
        guard let base = bytes.baseAddress else {
            throw .truncated(type: type, count: rows * cols, needed: total, available: 0)
        }
        self.init(type: type, rows: rows, cols: cols, data: base)
    }

    /// The rows packed sixteen at a time for the AVX-512 VNNI Q4_1 or Q8_0 kernel (`packedForProducts()`), or nil.
    public private(set) var packed: PackedRows? = nil

    /// This matrix with a Q4_1 or Q8_0 copy packed for the AVX-512 VNNI kernel, which then serves single
    /// tokens, verification rows and prompt batches alike; unchanged for other types, or without AVX-512
    /// VNNI. Costs one copy of the matrix's bytes.
    public func packedForProducts() -> WeightMatrix {
        guard PackedRows.packs(type), useVNNIMatmul, packed == nil, rows > 0 else { return self }
        var copy = self
        copy.packed = PackedRows(self)
        return copy
    }

    /// Row `index` dequantized to floats, read from the packed copy when there is one (so that a tied
    /// embedding's lookups leave the file's released pages alone).
    public func dequantizeRow(_ index: Int, into out: UnsafeMutablePointer<Float>) {
        precondition(index >= 0 && index < rows, "WeightMatrix.dequantizeRow: row \(index) of \(rows)")
        guard let packed else { return Quantization.dequantize(type, row(index), count: cols, into: out) }
        withUnsafeTemporaryAllocation(byteCount: rowBytes, alignment: 16) { buffer in
            if type == .q8_0 {
                ck_q8_0_unpack_row(packed.bytes, cols / 32, index, buffer.baseAddress!)
            } else {
                ck_q4_1_unpack_row(packed.bytes, cols / 32, index, buffer.baseAddress!)
            }
            Quantization.dequantize(type, UnsafeRawPointer(buffer.baseAddress!), count: cols, into: out)
        }
    }

    /// Bytes per stored row.
    @inlinable
    public var rowBytes: Int { type.rowBytes(cols)! }

    /// The start of row `index`.
    @inlinable
    public func row(_ index: Int) -> UnsafeRawPointer { data + index * rowBytes }
}

/// A Q4_1 or Q8_0 matrix's rows packed for `ck_matvec_rows_q4_1_packed` / `ck_matvec_rows_q8_0_packed`
/// (owned memory).
public final class PackedRows: @unchecked Sendable {
    let bytes: UnsafeMutableRawPointer

    /// The types with a packed kernel.
    static func packs(_ type: GGMLType) -> Bool { type == .q4_1 || type == .q8_0 }

    init(_ w: WeightMatrix) {
        let blocks = w.cols / 32
        if w.type == .q4_1 {
            bytes = .allocate(byteCount: max(64, ck_q4_1_packed_bytes(w.rows, blocks)), alignment: 64)
            ck_q4_1_pack(w.data, w.rowBytes, w.rows, blocks, bytes)
        } else {
            precondition(w.type == .q8_0, "PackedRows: no packed kernel for \(w.type)")
            bytes = .allocate(byteCount: max(64, ck_q8_0_packed_bytes(w.rows, blocks)), alignment: 64)
            ck_q8_0_pack(w.data, w.rowBytes, w.rows, blocks, bytes)
        }
    }

    deinit { bytes.deallocate() }
}

/// Chunks per thread of a matvec: the caller starts its share before a woken worker does, so with one
/// chunk each it then waits for the worker's; finer chunks let it take over the rest.
let matvecChunksPerThread = 4

/// Below this many multiply-adds a matvec runs on the calling thread: waking workers costs more.
let matvecParallelThreshold = 16_384

/// y[rows] = W · x[cols]. For quantized W, x is first quantized per row as ggml does (Q8_0 for Q8_0, Q4_0
/// and Q5_0 weights, Q8_1 for Q4_1 and Q5_1, Q8_K for the K-quants) and the dot products are integer;
/// f32, f16 and bf16 use float dot products. Rows are split over the pool.
///
/// The quantized copy of x lives in the pool's shared scratch, so steady-state calls do not allocate.
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
    case .bf16:
        forRowRanges(w.rows, parallel: parallel, pool: pool) { range in
            ck_matvec_bf16(data, rowBytes, range.lowerBound, range.upperBound, x, cols, y)
        }
    case .q8_0 where w.packed != nil:
        matvecRowsPacked(w, x, rows: 1, into: y, pool: pool, parallel: parallel)
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
    case .q4_1 where useIntrinsicDots:
        matvecRowsPacked(w, x, rows: 1, into: y, pool: pool, parallel: parallel)
    case .q4_1, .q5_0, .q5_1, .q4_K, .q5_K, .q6_K:
        // C for every CPU: AVX2 where compiled in, scalar C otherwise.
        let activation = activationType(for: w.type)
        let xq = pool.sharedScratch.reserve(activation.rowBytes(cols)!)
        quantizeActivations(activation, x, count: cols, into: xq)
        let kernel = integerMatvecKernel(w.type)
        let blocks = cols / w.type.blockSize
        forRowRanges(w.rows, parallel: parallel, pool: pool) { range in
            kernel(data, rowBytes, range.lowerBound, range.upperBound, xq, blocks, y)
        }
    default:
        preconditionFailure("matvec: unsupported weight type \(w.type); expected one of \(GGMLType.computeTypes)")
    }
}

/// The type x is quantized to before integer products with `weights` (as in ggml's type traits).
func activationType(for weights: GGMLType) -> GGMLType {
    switch weights {
    case .q4_1, .q5_1: return .q8_1
    case .q4_K, .q5_K, .q6_K: return .q8_K
    default: return .q8_0
    }
}

/// Quantizes `count` activations to `type` (q8_0, q8_1 or q8_K) with ggml's CPU rounding.
func quantizeActivations(_ type: GGMLType, _ x: UnsafePointer<Float>, count: Int, into dst: UnsafeMutableRawPointer) {
    switch type {
    case .q8_1: ck_quantize_activations_q8_1(x, dst, count)
    case .q8_K: ck_quantize_activations_q8_k(x, dst, count)
    default: ck_quantize_activations_q8_0(x, dst, count)
    }
}

typealias MatvecKernel = @convention(c) (UnsafeRawPointer?, Int, Int, Int, UnsafeRawPointer?, Int, UnsafeMutablePointer<Float>?) -> Void

/// The C single-token kernel for an integer-product weight type.
func integerMatvecKernel(_ type: GGMLType) -> MatvecKernel {
    switch type {
    case .q8_0: return ck_matvec_q8_0
    case .q4_0: return ck_matvec_q4_0
    case .q4_1: return ck_matvec_q4_1
    case .q5_0: return ck_matvec_q5_0
    case .q5_1: return ck_matvec_q5_1
    case .q4_K: return ck_matvec_q4_k
    case .q5_K: return ck_matvec_q5_k
    case .q6_K: return ck_matvec_q6_k
    default: preconditionFailure("no integer matvec kernel for \(type)")
    }
}

/// Whether the C kernels were compiled with AVX2 (otherwise the portable Swift SIMD dots run).
let useIntrinsicDots = ck_has_avx2() != 0

/// Calls `body` with contiguous row ranges covering every row, split over the pool when `parallel`.
@inline(__always)
private func forRowRanges(_ rows: Int, parallel: Bool, pool: ThreadPool, _ body: (Range<Int>) -> Void) {
    if parallel {
        pool.parallelFor(rows, chunksPerThread: matvecChunksPerThread) { range, _ in body(range) }
    } else {
        body(0..<rows)
    }
}

/// Calls `body` for every row, split over the pool when `parallel`.
@inline(__always)
private func forRows(_ rows: Int, parallel: Bool, pool: ThreadPool, _ body: (Int) -> Void) {
    if parallel {
        pool.parallelFor(rows, chunksPerThread: matvecChunksPerThread) { range, _ in
            for r in range { body(r) }
        }
    } else {
        for r in 0..<rows { body(r) }
    }
}
