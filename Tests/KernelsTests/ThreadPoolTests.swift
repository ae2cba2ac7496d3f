import Synchronization
import Testing
@testable import Kernels

/// Runs parallelFor(count) and returns how many times each index ran and which chunks were seen.
private func visits(_ pool: ThreadPool, count: Int) -> (counts: [Int], chunks: Int) {
    let counts = UnsafeMutablePointer<Atomic<Int>>.allocate(capacity: max(count, 1))
    for i in 0..<max(count, 1) { (counts + i).initialize(to: Atomic(0)) }
    defer { counts.deinitialize(count: max(count, 1)); counts.deallocate() }
    let chunks = Atomic<Int>(0)
    // Chunks are claimed dynamically, so one thread may run several, but never two at once.
    let running = Mutex<Set<Int>>([])
    pool.parallelFor(count) { range, thread in
        #expect(!range.isEmpty)
        #expect(thread >= 0 && thread < pool.threadCount)
        chunks.add(1, ordering: .relaxed)
        running.withLock { busy in
            #expect(!busy.contains(thread), "thread index \(thread) runs two chunks at once")
            busy.insert(thread)
        }
        for i in range { counts[i].add(1, ordering: .relaxed) }
        _ = running.withLock { $0.remove(thread) }
    }
    return ((0..<count).map { counts[$0].load(ordering: .relaxed) }, chunks.load(ordering: .relaxed))
}

@Test(arguments: [1, 2, 4])
func parallelForRunsEveryIndexExactlyOnce(threads: Int) {
    let pool = ThreadPool(threads: threads)
    #expect(pool.threadCount == threads)
    for count in [0, 1, threads - 1, threads, threads + 1, 7, 1000] {
        let (counts, chunks) = visits(pool, count: count)
        #expect(counts == [Int](repeating: 1, count: count), "count \(count)")
        #expect(chunks == min(count, threads))
    }
}

@Test func repeatedDispatchIsReliable() {
    let pool = ThreadPool(threads: 3)
    let total = Atomic<Int>(0)
    for round in 0..<5000 {
        pool.parallelFor(10 + round % 5) { range, _ in total.add(range.count, ordering: .relaxed) }
    }
    let expected = (0..<5000).reduce(0) { $0 + 10 + $1 % 5 }
    #expect(total.load(ordering: .relaxed) == expected)
}

@Test func workersWakeAfterBlocking() async throws {
    // With no spin budget workers block at once, exercising the condition-variable path.
    let pool = ThreadPool(threads: 2, spinMicroseconds: 0)
    for _ in 0..<50 {
        try await Task.sleep(nanoseconds: 200_000)
        let (counts, _) = visits(pool, count: 9)
        #expect(counts == [Int](repeating: 1, count: 9))
    }
}

@Test func lateWorkersNeverRunStaleChunks() {
    // Many tiny dispatches with blocking workers: late wake-ups must find the ticket exhausted or move
    // on to the current dispatch, never re-run an old one.
    let pool = ThreadPool(threads: 4, spinMicroseconds: 0)
    let total = Atomic<Int>(0)
    for _ in 0..<3000 {
        pool.parallelFor(4) { range, _ in total.add(range.count, ordering: .relaxed) }
    }
    #expect(total.load(ordering: .relaxed) == 12000)
}

@Test func chunksAreContiguousAndBalanced() {
    let pieces = (0..<3).map { ThreadPool.chunk($0, of: 3, count: 10) }
    #expect(pieces == [0..<3, 3..<6, 6..<10])
}

/// parallelRows covers every row once: split over the threads when the rows hold enough elements,
/// in one call on the calling thread when they do not.
@Test func parallelRowsSplitsOnlyWorkWorthADispatch() {
    let pool = ThreadPool(threads: 3)
    for (rows, elementsPerRow, split) in [(300, 96, true), (4, 64, false), (1, 1 << 20, false), (0, 64, false)] {
        let seen = Mutex<[Range<Int>]>([])
        pool.parallelRows(rows, elementsPerRow: elementsPerRow) { range in seen.withLock { $0.append(range) } }
        let ranges = seen.withLock { $0 }.sorted { $0.lowerBound < $1.lowerBound }
        #expect(ranges.flatMap { Array($0) } == Array(0..<rows), "\(rows) rows")
        #expect(ranges.count == (split ? 3 : rows > 0 ? 1 : 0), "\(rows) rows of \(elementsPerRow)")
    }
}
