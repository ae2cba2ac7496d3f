import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import COpenBLAS

/// A fixed set of worker threads for data-parallel loops with microsecond dispatch.
///
/// Dispatch bumps an atomic generation counter. Idle workers spin on it for `spinMicroseconds`
/// (so back-to-back kernels in a forward pass start in a few microseconds) and then block on a
/// condition variable (so an idle language server burns no CPU). Chunks are claimed through an atomic
/// ticket rather than assigned, so when a worker is descheduled (a busy machine) the caller runs its
/// chunk instead of waiting a whole timeslice. The pool also owns the kernels' reusable scratch memory:
/// one shared buffer and one per thread.
///
/// Only one thread may dispatch on a pool at a time, and bodies must not dispatch on the same pool.
/// Creating a pool sets OpenBLAS to one thread: the kernels split BLAS work over the pool themselves,
/// which measured faster than OpenBLAS's own threads for our sizes and avoids oversubscription.
public final class ThreadPool: @unchecked Sendable {
    /// Number of threads that run work, including the dispatching thread.
    public var threadCount: Int { state.threadCount }

    private let state: PoolState
    private var workers: [pthread_t] = []

    /// Scratch shared by a whole kernel call (e.g. the q8_0 copy of a matvec input).
    let sharedScratch = ScratchBuffer()
    /// Scratch private to each thread index (e.g. attention score rows, dequantized weight tiles).
    let threadScratch: [ScratchBuffer]

    /// Creates a pool of `threads` threads (>= 1); the calling thread counts as one of them.
    public init(threads: Int, spinMicroseconds: Int = 500) {
        precondition(threads >= 1, "ThreadPool needs at least one thread, got \(threads)")
        state = PoolState(threadCount: threads, spinNanoseconds: UInt64(max(0, spinMicroseconds)) * 1000)
        threadScratch = (0..<threads).map { _ in ScratchBuffer() }
        openblas_set_num_threads(1)
        for index in 1..<max(threads, 1) {
            let context = Unmanaged.passRetained(WorkerContext(state: state, index: index)).toOpaque()
            var thread = pthread_t()
            let status = pthread_create(&thread, nil, { raw in
                let context = Unmanaged<WorkerContext>.fromOpaque(raw!).takeRetainedValue()
                context.state.workerLoop(index: context.index)
                return nil
            }, context)
            precondition(status == 0, "pthread_create failed with status \(status)")
            workers.append(thread)
        }
    }

    deinit {
        state.stop()
        for thread in workers { pthread_join(thread, nil) }
    }

    /// Runs body(range, threadIndex) over a split of 0..<count into at most threadCount contiguous chunks; returns when all finish.
    ///
    /// `threadIndex` names the thread running the chunk (use it to pick per-thread scratch); one thread
    /// may run several chunks one after another.
    ///
    /// `chunksPerThread` > 1 cuts the work finer: threads claim chunks as they come free, so one that
    /// starts late or runs slow (a woken worker, a busy core) takes fewer, and the caller waits less.
    public func parallelFor(_ count: Int, chunksPerThread: Int = 1, _ body: (Range<Int>, Int) -> Void) {
        guard count > 0 else { return }
        let chunks = state.threadCount == 1 ? 1 : min(count, state.threadCount * max(1, chunksPerThread), 0x7FFF)
        if chunks == 1 {
            body(0..<count, 0)
            return
        }
        withoutActuallyEscaping(body) { escapable in
            state.run(count: count, chunks: chunks, body: escapable)
        }
    }

    /// Runs body over 0..<rows, split over the pool when the rows hold enough elements to pay for a
    /// dispatch (a few microseconds), else on the calling thread. For the per-row steps between a batch's
    /// matrix products (norms, RoPE, activations' quantization): left on one thread they cost as much as
    /// the products themselves at 16 threads.
    public func parallelRows(_ rows: Int, elementsPerRow: Int, _ body: (Range<Int>) -> Void) {
        if threadCount > 1 && rows > 1 && rows * elementsPerRow >= 1 << 14 {
            parallelFor(rows) { range, _ in body(range) }
        } else if rows > 0 {
            body(0..<rows)
        }
    }

    /// The `index`-th of `chunks` near-equal contiguous pieces of 0..<count.
    @inline(__always)
    static func chunk(_ index: Int, of chunks: Int, count: Int) -> Range<Int> {
        (index * count / chunks)..<((index + 1) * count / chunks)
    }
}

private final class WorkerContext {
    let state: PoolState
    let index: Int
    init(state: PoolState, index: Int) { self.state = state; self.index = index }
}

/// The part of the pool the worker threads share; kept separate so workers don't keep the pool alive.
private final class PoolState: @unchecked Sendable {
    typealias Body = (Range<Int>, Int) -> Void

    let threadCount: Int
    let spinNanoseconds: UInt64
    /// Bumped once per dispatch; workers wait for it to change.
    private let generation = Atomic<Int>(0)
    /// Packs (generation << 32) | (chunks << 16) | claimed, so a late worker can neither claim a chunk
    /// of a finished dispatch nor read that dispatch's chunk count from plain storage.
    private let ticket = Atomic<Int>(0)
    private let finished = Atomic<Int>(0)
    private let sleepers = Atomic<Int>(0)
    private let stopping = Atomic<Bool>(false)
    // Written only by the dispatcher before the ticket/generation stores (release) and read by workers
    // only after claiming a chunk of that dispatch (acquire), so plain storage is race-free.
    private var body: Body?
    private var count = 0
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>

    init(threadCount: Int, spinNanoseconds: UInt64) {
        precondition(threadCount < 1 << 15, "ThreadPool: \(threadCount) threads is too many")
        self.threadCount = threadCount
        self.spinNanoseconds = spinNanoseconds
        mutex = .allocate(capacity: 1)
        condition = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        condition.deallocate()
    }

    func run(count: Int, chunks: Int, body: @escaping Body) {
        self.body = body
        self.count = count
        finished.store(0, ordering: .relaxed)
        let current = generation.load(ordering: .relaxed) &+ 1
        ticket.store(((current & 0x7FFF_FFFF) << 32) | (chunks << 16), ordering: .releasing)
        generation.store(current, ordering: .sequentiallyConsistent)
        wakeSleepers()
        claimChunks(generation: current, thread: 0)
        var spins = 0
        while finished.load(ordering: .acquiring) != chunks {
            spins += 1
            // A descheduled worker holding a chunk should get the core rather than watch us spin.
            if spins & 0xFFF == 0 { sched_yield() }
        }
        // Drop the reference before returning so withoutActuallyEscaping sees the closure unescaped.
        self.body = nil
    }

    /// Claims and runs chunks of dispatch `generation` until none are left.
    private func claimChunks(generation: Int, thread: Int) {
        let tag = (generation & 0x7FFF_FFFF) << 32
        var current = ticket.load(ordering: .acquiring)
        while true {
            let chunks = (current >> 16) & 0xFFFF, claimed = current & 0xFFFF
            guard current & ~0xFFFF_FFFF == tag, claimed < chunks else { return }
            let (exchanged, original) = ticket.compareExchange(
                expected: current, desired: current + 1, ordering: .acquiringAndReleasing)
            if exchanged {
                runChunk(claimed, of: chunks, thread: thread)
                finished.add(1, ordering: .releasing)
                current = ticket.load(ordering: .acquiring)
            } else {
                current = original
            }
        }
    }

    // Not inlined so the worker's temporary reference to the body is released before it reports done.
    @inline(never)
    private func runChunk(_ index: Int, of chunks: Int, thread: Int) {
        guard let body else { return }
        body(ThreadPool.chunk(index, of: chunks, count: count), thread)
    }

    func stop() {
        stopping.store(true, ordering: .sequentiallyConsistent)
        generation.add(1, ordering: .sequentiallyConsistent)
        wakeSleepers()
    }

    private func wakeSleepers() {
        // Sequentially consistent with the sleeper's increment-then-check: either it sees the new
        // generation or we see it registered and broadcast under the mutex.
        if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
            pthread_mutex_lock(mutex)
            pthread_cond_broadcast(condition)
            pthread_mutex_unlock(mutex)
        }
    }

    func workerLoop(index: Int) {
        var seen = 0
        while true {
            seen = waitForGeneration(after: seen)
            if stopping.load(ordering: .acquiring) { return }
            claimChunks(generation: seen, thread: index)
        }
    }

    private func waitForGeneration(after seen: Int) -> Int {
        var current = generation.load(ordering: .acquiring)
        if current != seen { return current }
        let deadline = monotonicNanoseconds() + spinNanoseconds
        var spins = 0
        while true {
            current = generation.load(ordering: .acquiring)
            if current != seen { return current }
            spins += 1
            if spins & 0x3FF == 0, monotonicNanoseconds() >= deadline { break }
        }
        pthread_mutex_lock(mutex)
        sleepers.add(1, ordering: .sequentiallyConsistent)
        while true {
            current = generation.load(ordering: .sequentiallyConsistent)
            if current != seen { break }
            pthread_cond_wait(condition, mutex)
        }
        sleepers.subtract(1, ordering: .sequentiallyConsistent)
        pthread_mutex_unlock(mutex)
        return current
    }
}

@inline(__always)
func monotonicNanoseconds() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
}
