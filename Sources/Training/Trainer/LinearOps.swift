import Kernels

// Matrix products of the trainer, all through single-threaded BLAS calls (`gemm`) that the pool splits:
// one BLAS thread per pool thread, so nothing is oversubscribed (the pool sets OpenBLAS to one thread).

/// Products smaller than this (multiply-adds) run on the calling thread: waking workers costs more.
private let parallelThreshold = 1 << 18

private func split(_ count: Int, work: Int, pool: ThreadPool, _ body: (Range<Int>) -> Void) {
    if work < parallelThreshold || pool.threadCount == 1 {
        body(0..<count)
    } else {
        pool.parallelFor(count) { range, _ in body(range) }
    }
}

/// out[n][outDim] = inp[n][inDim] · W[outDim][inDim]ᵀ (W row-major, y = W·x per row).
public func linearForward(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, _ weight: UnsafePointer<Float>,
                          rows n: Int, inDim: Int, outDim: Int, pool: ThreadPool) {
    split(n, work: n * inDim * outDim, pool: pool) { r in
        guard !r.isEmpty else { return }
        gemm(transposeB: true, m: r.count, n: outDim, k: inDim, a: inp + r.lowerBound * inDim, lda: inDim,
             b: weight, ldb: inDim, c: out + r.lowerBound * outDim, ldc: outDim)
    }
}

/// The backward of `linearForward`: dInp (+)= dOut · W and dW += dOutᵀ · inp.
///
/// `accumulateInput` adds into dInp instead of overwriting it (q, k and v share one input).
public func linearBackward(dInp: UnsafeMutablePointer<Float>, dWeight: UnsafeMutablePointer<Float>,
                           dOut: UnsafePointer<Float>, inp: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                           rows n: Int, inDim: Int, outDim: Int, accumulateInput: Bool, pool: ThreadPool) {
    let beta: Float = accumulateInput ? 1 : 0
    split(n, work: n * inDim * outDim, pool: pool) { r in
        guard !r.isEmpty else { return }
        gemm(m: r.count, n: inDim, k: outDim, a: dOut + r.lowerBound * outDim, lda: outDim,
             b: weight, ldb: inDim, beta: beta, c: dInp + r.lowerBound * inDim, ldc: inDim)
    }
    // Split over W's rows so each thread owns a block of dW.
    split(outDim, work: n * inDim * outDim, pool: pool) { r in
        guard !r.isEmpty else { return }
        gemm(transposeA: true, m: r.count, n: inDim, k: n, a: dOut + r.lowerBound, lda: outDim,
             b: inp, ldb: inDim, beta: 1, c: dWeight + r.lowerBound * inDim, ldc: inDim)
    }
}
