/// Applies merge rules inside one pre-token the way llama.cpp does: repeatedly merge the adjacent
/// pair with the lowest rank, the leftmost one on ties, until no adjacent pair has a rule.
///
/// Symbols live in a linked list over flat arrays; candidate pairs sit in a min-heap keyed by
/// (rank, left position), and stale candidates are dropped when popped.
struct BytePairMerger {
    /// The id standing for a byte the vocabulary has no token for: no merge names it, and it is
    /// left out of the output (llama.cpp's behaviour).
    static let missingByte: Int32 = -2

    private var ids: [Int32] = []
    private var next: [Int32] = []
    private var prev: [Int32] = []
    private var heap: [UInt64] = []

    /// Appends the token ids for `piece` (raw bytes) to `output`.
    mutating func encode(_ piece: UnsafeBufferPointer<UInt8>, byteTokens: [Int32],
                         merges: MergeTable, into output: inout [Int32]) {
        let count = piece.count
        if count == 0 { return }
        if count == 1 {
            let id = byteTokens[Int(piece[0])]
            if id >= 0 { output.append(id) }
            return
        }
        ids.removeAll(keepingCapacity: true)
        next.removeAll(keepingCapacity: true)
        prev.removeAll(keepingCapacity: true)
        heap.removeAll(keepingCapacity: true)
        for position in 0..<count {
            ids.append(byteTokens[Int(piece[position])])
            next.append(Int32(position + 1))
            prev.append(Int32(position - 1))
        }
        for position in 0..<(count - 1) {
            if let rule = merges.lookup(ids[position], ids[position + 1]) {
                push(rank: rule.rank, position: position)
            }
        }
        while let (rank, position) = pop() {
            let left = ids[position]
            if left < 0 { continue }
            let right = Int(next[position])
            if right >= count { continue }
            // A candidate is current only if the pair at its position still has the same rule.
            guard let rule = merges.lookup(left, ids[right]), rule.rank == rank else { continue }
            ids[position] = rule.merged
            ids[right] = -1
            let after = Int(next[right])
            next[position] = Int32(after)
            if after < count { prev[after] = Int32(position) }
            let before = Int(prev[position])
            if before >= 0, let rule = merges.lookup(ids[before], rule.merged) {
                push(rank: rule.rank, position: before)
            }
            if after < count, let rule = merges.lookup(rule.merged, ids[after]) {
                push(rank: rule.rank, position: position)
            }
        }
        var position = 0
        while position < count {
            if ids[position] >= 0 { output.append(ids[position]) }
            position = Int(next[position])
        }
    }

    @inline(__always)
    private mutating func push(rank: Int32, position: Int) {
        var child = heap.count
        heap.append((UInt64(UInt32(bitPattern: rank)) << 32) | UInt64(position))
        let item = heap[child]
        while child > 0 {
            let parent = (child - 1) / 2
            if heap[parent] <= item { break }
            heap[child] = heap[parent]
            child = parent
        }
        heap[child] = item
    }

    @inline(__always)
    private mutating func pop() -> (rank: Int32, position: Int)? {
        guard let top = heap.first else { return nil }
        let last = heap.removeLast()
        if !heap.isEmpty {
            var parent = 0
            let count = heap.count
            while true {
                var child = 2 * parent + 1
                if child >= count { break }
                if child + 1 < count && heap[child + 1] < heap[child] { child += 1 }
                if last <= heap[child] { break }
                heap[parent] = heap[child]
                parent = child
            }
            heap[parent] = last
        }
        return (Int32(truncatingIfNeeded: top >> 32), Int(top & 0xFFFF_FFFF))
    }
}
