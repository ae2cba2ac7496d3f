import COpenBLAS
import Kernels

// Matrix products of the trainer, all through single-threaded cblas_sgemm calls that the pool splits:
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
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(r.count), Int32(outDim), Int32(inDim), 1,
                    inp + r.lowerBound * inDim, Int32(inDim), weight, Int32(inDim),
                    0, out + r.lowerBound * outDim, Int32(outDim))
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
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(r.count), Int32(inDim), Int32(outDim), 1,
                    dOut + r.lowerBound * outDim, Int32(outDim), weight, Int32(inDim),
                    beta, dInp + r.lowerBound * inDim, Int32(inDim))
    }
    // Split over W's rows so each thread owns a block of dW.
    split(outDim, work: n * inDim * outDim, pool: pool) { r in
        guard !r.isEmpty else { return }
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(r.count), Int32(inDim), Int32(n), 1,
                    dOut + r.lowerBound, Int32(outDim), inp, Int32(inDim),
                    1, dWeight + r.lowerBound * inDim, Int32(inDim))
    }
}
