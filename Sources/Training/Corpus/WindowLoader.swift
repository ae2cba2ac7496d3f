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
    private let shardStarts: [Int]   // first global token index of each shard, then the total

    /// A loader over `shards`; `tokenizer` (the shards' own) is needed when `fimRate > 0`.
    public init(shards: [TokenShard], tokenizer: BPETokenizer?, length: Int, seed: UInt64,
                fimRate: Double = 0.5, spmRate: Double = 0.5, position: Int = 0) throws {
        precondition(length >= 2, "a window needs at least two tokens")
        var starts = [0]
        for shard in shards { starts.append(starts.last! + shard.tokenCount) }
        guard starts.last! > 0 else { throw CorpusError.emptyShards }
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
        self.length = length
        self.seed = seed
        self.fimRate = fimRate
        self.spmRate = spmRate
        self.position = position
        shardStarts = starts
    }

    /// Tokens kept free in a window for a FIM example's special tokens and re-tokenization.
    static let fimReserve = 8
    /// Share of FIM examples cut as line completions (the rest at two uniform points).
    static let lineCompletionShare = 0.5

    /// Tokens in all shards.
    public var totalTokens: Int { shardStarts.last! }

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
        var mixer = SplitMix64(seed: seed ^ (UInt64(truncatingIfNeeded: index) &* 0xD1B5_4A32_D192_ED03))
        var rng = SplitMix64(seed: mixer.next())
        let start = Int.random(in: 0..<totalTokens, using: &rng)
        var shardIndex = shardStarts.lastIndex(where: { $0 <= start && $0 < totalTokens })!
        while shards[shardIndex].tokenCount == 0 { shardIndex += 1 }
        var shard = shards[shardIndex]
        let local = start - shardStarts[shardIndex]
        var document = shard.document(containing: local)
        var skip = local - shard.tokenOffsets[document]

        var out: [Int32] = []
        out.reserveCapacity(length)
        while out.count < length {
            let need = length - out.count
            let begin = shard.tokenOffsets[document] + skip
            let end = shard.tokenOffsets[document + 1]
            // The span a FIM example is cut from leaves room for its four special tokens and for the few
            // extra tokens that tokenizing three pieces separately can cost; its end-of-text is left out.
            let spanEnd = min(end - 1, begin + need - Self.fimReserve)
            if let fim, spanEnd > begin, Double.random(in: 0..<1, using: &rng) < fimRate {
                let text = fim.tokenizer.decode(shard.tokens(begin..<spanEnd))
                let lineExample = Double.random(in: 0..<1, using: &rng) < Self.lineCompletionShare
                    ? fim.lineExample(text, spmRate: spmRate, using: &rng)
                    : nil
                let example = lineExample ?? fim.randomExample(text, spmRate: spmRate, using: &rng)
                out += example.prefix(need)
            } else {
                out += shard.tokens(begin..<min(end, begin + need))
            }
            skip = 0
            document += 1
            while document == shard.documentCount {
                // Past the last document of a shard the stream continues with the next one, wrapping around.
                shardIndex = (shardIndex + 1) % shards.count
                shard = shards[shardIndex]
                document = shard.documentCount == 0 ? shard.documentCount : 0
            }
        }
        return out
    }
}
