import Model

/// Learns a byte-level BPE vocabulary: the 256 byte tokens, then merges by pair frequency over pre-tokens.
///
/// Documents are streamed in with `add`; only the count of each distinct pre-token is kept. Training
/// then repeatedly merges the most frequent adjacent pair (ties: lowest left id, then lowest right id),
/// updating pair counts only in the words that contain the merged pair.
public struct BPETrainer {
    /// Total tokens wanted: specials + 256 bytes + merges.
    public let vocabularySize: Int
    /// The llama.cpp pre-tokenizer name the vocabulary is trained (and later used) with.
    public let preTokenizer: String
    /// Control tokens placed first, at ids 0..<count.
    public let specialTokens: [String]

    private let splitter: PreTokenizer
    private var counts: [[UInt8]: Int] = [:]

    /// Prepares a trainer; throws `TokenizerError.unknownPreTokenizer` for a name llama.cpp lacks.
    public init(vocabularySize: Int, preTokenizer: String,
                specialTokens: [String] = ["<|endoftext|>", "<fim_prefix>", "<fim_middle>", "<fim_suffix>", "<fim_pad>"]) throws {
        self.vocabularySize = vocabularySize
        self.preTokenizer = preTokenizer
        self.specialTokens = specialTokens
        self.splitter = try PreTokenizer(name: preTokenizer)
    }

    /// Number of distinct pre-tokens seen so far.
    public var distinctPreTokens: Int { counts.count }

    /// Streams one document in; keeps only pre-token counts.
    public mutating func add(_ text: [UInt8]) {
        text.withUnsafeBufferPointer { buffer in
            splitter.split(buffer) { start, end in
                counts[Array(buffer[start..<end]), default: 0] += 1
            }
        }
    }

    /// Learns merges until the vocabulary is full or no pair is left; reports (merges done, merges wanted).
    public func train(progress: ((Int, Int) -> Void)? = nil) -> TrainedVocabulary {
        let firstByteID = Int32(specialTokens.count)
        var texts = specialTokens
        var types = [Int32](repeating: TokenType.control.rawValue, count: specialTokens.count)
        for byte in 0..<256 {
            texts.append(String(ByteLevelAlphabet.scalars[byte]))
            types.append(TokenType.normal.rawValue)
        }
        let wanted = max(0, vocabularySize - texts.count)

        var state = PairStatistics()
        // Sorted so that training does not depend on dictionary order.
        for (bytes, count) in counts.sorted(by: { $0.key.lexicographicallyPrecedes($1.key) }) where bytes.count > 1 {
            state.addWord(bytes.map { firstByteID + Int32($0) }, count: count)
        }
        state.buildQueue()

        var merges: [String] = []
        merges.reserveCapacity(wanted)
        while merges.count < wanted, let (left, right) = state.popBestPair() {
            let merged = Int32(texts.count)
            merges.append(texts[Int(left)] + " " + texts[Int(right)])
            texts.append(texts[Int(left)] + texts[Int(right)])
            types.append(TokenType.normal.rawValue)
            state.merge(left, right, into: merged)
            progress?(merges.count, wanted)
        }
        return TrainedVocabulary(tokens: texts, merges: merges, tokenTypes: types,
                                 preTokenizer: preTokenizer, specials: SpecialTokens(findingIn: specialTokens))
    }
}
