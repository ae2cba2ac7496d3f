import Model

/// Draws training windows of `length` tokens (T inputs + 1 target) at random positions of token shards.
///
/// Window `i` depends only on the seed and `i`, so a run is reproducible and resumes exactly by setting
/// `position` (the number of windows already drawn) from a checkpoint. A window starts at a uniformly
/// drawn token of all shards and runs on through the following documents. Fill-in-the-middle is applied
/// at the context level (Bavarian et al. 2022, §3): with probability `fimRate` the part of a document
/// that would fill the rest of the window is decoded to text and cut into prefix, middle and suffix there,
/// so the three pieces always share the window, as prefix, suffix and completion share the prompt at
/// inference. Half of those cuts are line completions (`FIMTransform.lineExample`), half two uniform cut
/// points. Otherwise the
/// stored tokens are used as they are.
public struct WindowLoader: Sendable {
    public let shards: [TokenShard]
    /// Tokens per window: the context length plus one, since targets are inputs shifted by one.
    public let length: Int
    public let seed: UInt64
    /// Probability that a window's span of a document becomes a FIM example (0 disables FIM).
    public let fimRate: Double
    /// Among FIM examples, the share in SPM order (the rest are PSM).
    public let spmRate: Double
    /// Windows drawn so far; the next window is `window(at: position)`.
    public var position: Int

    private let fim: FIMTransform?
    private let tokenizer: BPETokenizer?
    /// The documents windows are drawn from, per shard (all of them unless the loader was given a list).
    private let documents: [[Int]]
    /// Per shard, the first token (counted over the listed documents of all shards) of each listed
    /// document, then that shard's end.
    private let listedStarts: [[Int]]

    /// A loader over `shards`; `tokenizer` (the shards' own) is needed when `fimRate > 0` and for
    /// `annotatedWindow`. `documents`, when given, lists per shard the only documents windows are drawn
    /// from (e.g. those a teacher pass covers); a window then runs on through the next listed document.
    public init(shards: [TokenShard], tokenizer: BPETokenizer?, length: Int, seed: UInt64,
                fimRate: Double = 0.5, spmRate: Double = 0.5, position: Int = 0, documents: [[Int]]? = nil) throws {
        precondition(length >= 2, "a window needs at least two tokens")
        if let documents {
            precondition(documents.count == shards.count, "a document list per shard")
            for (shard, list) in zip(shards, documents) where !list.allSatisfy({ (0..<shard.documentCount).contains($0) }) {
                throw CorpusError.shardInconsistent(path: shard.path, detail: "a listed document is not in the shard")
            }
        }
        let lists = documents?.map { $0.sorted() } ?? shards.map { Array(0..<$0.documentCount) }
        var starts: [[Int]] = []
        var total = 0
        for (shard, list) in zip(shards, lists) {
            var mine: [Int] = []
            for d in list {
                mine.append(total)
                total += shard.tokenOffsets[d + 1] - shard.tokenOffsets[d]
            }
            mine.append(total)
            starts.append(mine)
        }
        guard total > 0 else { throw CorpusError.emptyShards }
        if let tokenizer {
            for shard in shards where shard.vocabularySize != tokenizer.vocabularySize {
                throw CorpusError.shardInconsistent(path: shard.path,
                    detail: "vocabulary of \(shard.vocabularySize) tokens, the tokenizer has \(tokenizer.vocabularySize)")
            }
        }
        if fimRate > 0 {
            guard let tokenizer else { throw CorpusError.missingSpecialToken("FIM (no tokenizer given)") }
            fim = try FIMTransform(tokenizer: tokenizer)
        } else {
            fim = nil
        }
        self.shards = shards
        self.tokenizer = tokenizer
        self.length = length
        self.seed = seed
        self.fimRate = fimRate
        self.spmRate = spmRate
        self.position = position
        self.documents = lists
        listedStarts = starts
        totalTokens = total
    }

    /// Tokens kept free in a window for a FIM example's special tokens and re-tokenization.
    static let fimReserve = 8
    /// Share of FIM examples cut as line completions (the rest at two uniform points).
    static let lineCompletionShare = 0.5

    /// Tokens in the documents windows are drawn from (all shards' unless a list was given).
    public let totalTokens: Int

    /// The next window; advances `position`.
    public mutating func next() -> [Int32] {
        defer { position += 1 }
        return window(at: position)
    }

    /// The next `count` windows, concatenated (count × length tokens); advances `position` by `count`.
    public mutating func nextBatch(_ count: Int) -> [Int32] {
        var batch: [Int32] = []
        batch.reserveCapacity(count * length)
        for _ in 0..<count { batch += next() }
        return batch
    }

    /// Window number `index`: a pure function of the seed and the index.
    public func window(at index: Int) -> [Int32] {
        makeWindow(at: index, annotated: false).tokens
    }

    /// Window number `index` with where each of its tokens comes from (see `TokenSource`): plain and
    /// prefix/middle tokens their bytes in the document, FIM markers before a piece an empty range where
    /// it starts, suffix tokens and other specials nil. Needs the loader's tokenizer.
    public func annotatedWindow(at index: Int) -> (tokens: [Int32], sources: [TokenSource?]) {
        precondition(tokenizer != nil, "annotated windows need the shards' tokenizer")
        return makeWindow(at: index, annotated: true)
    }

    private func makeWindow(at index: Int, annotated: Bool) -> (tokens: [Int32], sources: [TokenSource?]) {
        var mixer = SplitMix64(seed: seed ^ (UInt64(truncatingIfNeeded: index) &* 0xD1B5_4A32_D192_ED03))
        var rng = SplitMix64(seed: mixer.next())
        let start = Int.random(in: 0..<totalTokens, using: &rng)
        var shardIndex = listedStarts.firstIndex(where: { start < $0.last! })!
        var listed = listedStarts[shardIndex].lastIndex(where: { $0 <= start })!
        var skip = start - listedStarts[shardIndex][listed]

        var out: [Int32] = [], sources: [TokenSource?] = []
        out.reserveCapacity(length)
        while out.count < length {
            let shard = shards[shardIndex], document = documents[shardIndex][listed]
            let need = length - out.count
            let begin = shard.tokenOffsets[document] + skip
            let end = shard.tokenOffsets[document + 1]
            // The byte where the window's part of the document starts.
            let base = annotated
                ? shard.tokens(shard.tokenOffsets[document]..<begin).reduce(0) { $0 + tokenizer!.tokenBytes($1).count } : 0
            // The span a FIM example is cut from leaves room for its four special tokens and for the few
            // extra tokens that tokenizing three pieces separately can cost; its end-of-text is left out.
            let spanEnd = min(end - 1, begin + need - Self.fimReserve)
            if let fim, spanEnd > begin, Double.random(in: 0..<1, using: &rng) < fimRate {
                let text = fim.tokenizer.decode(shard.tokens(begin..<spanEnd))
                let lineCuts = Double.random(in: 0..<1, using: &rng) < Self.lineCompletionShare
                    ? fim.lineCuts(text, spmRate: spmRate, using: &rng)
                    : nil
                let cuts = lineCuts ?? fim.randomCuts(text, spmRate: spmRate, using: &rng)
                if annotated {
                    let example = fim.annotatedExample(text, cuts: cuts, shard: shardIndex, document: document, base: base)
                    out += example.tokens.prefix(need)
                    sources += example.sources.prefix(need)
                } else {
                    out += fim.example(text, cuts: cuts.first, cuts.second, mode: cuts.mode).prefix(need)
                }
            } else {
                let tokens = shard.tokens(begin..<min(end, begin + need))
                out += tokens
                if annotated {
                    var at = base
                    for token in tokens {
                        if tokenizer!.isControl(token) {
                            sources.append(nil)
                        } else {
                            let length = tokenizer!.tokenBytes(token).count
                            sources.append(TokenSource(shard: shardIndex, document: document, start: at, end: at + length))
                            at += length
                        }
                    }
                }
            }
            skip = 0
            listed += 1
            while listed == documents[shardIndex].count {
                // Past the last listed document of a shard the stream continues with the next shard, wrapping around.
                shardIndex = (shardIndex + 1) % shards.count
                listed = 0
            }
        }
        return (out, sources)
    }
}
