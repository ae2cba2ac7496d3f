/// The trainer's working state: distinct words as symbol sequences, how often each adjacent pair
/// occurs (weighted by word count), which words hold each pair, and a lazy max-queue of pairs.
struct PairStatistics {
    private var words: [[Int32]] = []
    private var wordCounts: [Int] = []
    private var pairCounts: [UInt64: Int] = [:]
    private var wordsWithPair: [UInt64: [Int32]] = [:]
    private var queue = PairQueue()
    /// Per word, the merge step that last visited it, so duplicate word entries are skipped.
    private var visited: [Int] = []
    private var step = 0

    @inline(__always)
    static func key(_ left: Int32, _ right: Int32) -> UInt64 {
        (UInt64(UInt32(bitPattern: left)) << 32) | UInt64(UInt32(bitPattern: right))
    }

    /// Registers a distinct word (at least two symbols) seen `count` times.
    mutating func addWord(_ symbols: [Int32], count: Int) {
        let index = Int32(words.count)
        words.append(symbols)
        wordCounts.append(count)
        visited.append(-1)
        for position in 0..<(symbols.count - 1) {
            let key = Self.key(symbols[position], symbols[position + 1])
            pairCounts[key, default: 0] += count
            wordsWithPair[key, default: []].append(index)
        }
    }

    /// Fills the queue once all words are in.
    mutating func buildQueue() {
        for (key, count) in pairCounts where count > 0 { queue.push(count: count, key: key) }
    }

    /// Takes the most frequent pair off the queue, skipping entries whose count went stale.
    mutating func popBestPair() -> (Int32, Int32)? {
        while let (count, key) = queue.pop() {
            let current = pairCounts[key] ?? 0
            if current == count && count > 0 {
                return (Int32(truncatingIfNeeded: key >> 32), Int32(truncatingIfNeeded: key))
            }
            if current > 0 && current != count { queue.push(count: current, key: key) }
        }
        return nil
    }

    /// Replaces every (left, right) occurrence, left to right, with `merged` and updates the counts.
    mutating func merge(_ left: Int32, _ right: Int32, into merged: Int32) {
        step += 1
        let mergedKey = Self.key(left, right)
        let holders = wordsWithPair.removeValue(forKey: mergedKey) ?? []
        var grown: Set<UInt64> = []
        for wordIndex in holders {
            let w = Int(wordIndex)
            if visited[w] == step { continue }
            visited[w] = step
            var symbols = words[w]
            words[w] = []
            let count = wordCounts[w]
            var rewritten: [Int32] = []
            rewritten.reserveCapacity(symbols.count)
            var position = 0
            while position < symbols.count {
                if position + 1 < symbols.count && symbols[position] == left && symbols[position + 1] == right {
                    rewritten.append(merged)
                    position += 2
                } else {
                    rewritten.append(symbols[position])
                    position += 1
                }
            }
            if rewritten.count != symbols.count {
                // Remove the word's old pairs and add its new ones; unchanged pairs net to zero.
                for position in 0..<(symbols.count - 1) {
                    pairCounts[Self.key(symbols[position], symbols[position + 1])]! -= count
                }
                for position in 0..<max(0, rewritten.count - 1) {
                    let a = rewritten[position], b = rewritten[position + 1]
                    let key = Self.key(a, b)
                    pairCounts[key, default: 0] += count
                    if a == merged || b == merged {
                        wordsWithPair[key, default: []].append(wordIndex)
                        grown.insert(key)
                    }
                }
                symbols = rewritten
            }
            words[w] = symbols
        }
        pairCounts[mergedKey] = nil
        for key in grown {
            if let count = pairCounts[key], count > 0 { queue.push(count: count, key: key) }
        }
    }
}

/// A binary max-heap of (count, pair); among equal counts the smaller pair key comes first.
struct PairQueue {
    private var items: [(count: Int, key: UInt64)] = []

    @inline(__always)
    private static func before(_ a: (count: Int, key: UInt64), _ b: (count: Int, key: UInt64)) -> Bool {
        a.count > b.count || (a.count == b.count && a.key < b.key)
    }

    mutating func push(count: Int, key: UInt64) {
        var child = items.count
        items.append((count, key))
        let item = items[child]
        while child > 0 {
            let parent = (child - 1) / 2
            if !Self.before(item, items[parent]) { break }
            items[child] = items[parent]
            child = parent
        }
        items[child] = item
    }

    mutating func pop() -> (count: Int, key: UInt64)? {
        guard let top = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            var parent = 0
            while true {
                var child = 2 * parent + 1
                if child >= items.count { break }
                if child + 1 < items.count && Self.before(items[child + 1], items[child]) { child += 1 }
                if !Self.before(items[child], last) { break }
                items[parent] = items[child]
                parent = child
            }
            items[parent] = last
        }
        return top
    }
}
