import Model

/// The two fill-in-the-middle layouts of Bavarian et al. (2022).
public enum FIMMode: String, Sendable {
    /// `<fim_prefix>` prefix `<fim_suffix>` suffix `<fim_middle>` middle: the order `FIMPromptBuilder` prompts in.
    case psm
    /// `<fim_prefix><fim_suffix>` suffix `<fim_middle>` prefix middle (the paper's SPM variant 2).
    case spm
}

/// Where a FIM example cuts its text (byte offsets, `first <= second`) and how it lays the pieces out.
public struct FIMCuts: Sendable, Equatable {
    public var first: Int, second: Int
    public var mode: FIMMode
}

/// Where a training token comes from in the corpus: document `document` of the loader's shard `shard`,
/// bytes `start..<end` of its text. Lets a student's token be matched to a file-order teacher pass.
public struct TokenSource: Sendable, Equatable {
    public var shard: Int, document: Int
    public var start: Int, end: Int
    /// Whether the token is part of a FIM example's middle (what a completion writes).
    public var isMiddle: Bool

    public init(shard: Int, document: Int, start: Int, end: Int, isMiddle: Bool = false) {
        self.shard = shard
        self.document = document
        self.start = start
        self.end = end
        self.isMiddle = isMiddle
    }
}

/// Turns a document into a fill-in-the-middle training example, at the character level.
///
/// The document is cut at two uniformly drawn Unicode scalar boundaries (either may be at the start
/// or the end, and they may coincide); prefix, middle and suffix are tokenized separately, as the
/// prompt builder does at inference, and the example ends with end-of-text so the model learns to
/// stop after the middle.
public struct FIMTransform: Sendable {
    public let tokenizer: BPETokenizer
    let prefixID: Int32, suffixID: Int32, middleID: Int32, endOfText: Int32

    /// Needs the tokenizer's FIM and end-of-text tokens.
    public init(tokenizer: BPETokenizer) throws {
        let s = tokenizer.specials
        guard let pre = s.fimPrefix else { throw CorpusError.missingSpecialToken("<fim_prefix>") }
        guard let suf = s.fimSuffix else { throw CorpusError.missingSpecialToken("<fim_suffix>") }
        guard let mid = s.fimMiddle else { throw CorpusError.missingSpecialToken("<fim_middle>") }
        guard let eot = s.endOfText else { throw CorpusError.missingSpecialToken("<|endoftext|>") }
        self.tokenizer = tokenizer
        prefixID = pre; suffixID = suf; middleID = mid; endOfText = eot
    }

    /// Byte offsets of every Unicode scalar start in `text`, and its end: the legal cut points.
    public static func cutPoints(_ text: [UInt8]) -> [Int] {
        var points: [Int] = []
        points.reserveCapacity(text.count + 1)
        for (i, byte) in text.enumerated() where byte & 0xC0 != 0x80 { points.append(i) }
        points.append(text.count)
        return points
    }

    /// The prefix's tokens as the language server's prompt ends for a cursor at `cut`, and where the middle
    /// then starts. After a line's indentation the prompt ends as the tokenizer cuts that text when code
    /// follows ("\n       ", the last blank left to the first generated token:
    /// `FIMPromptBuilder.splittingIndentationAsText`), so an example cuts alike and its middle starts with
    /// that blank (" return"), which is also how a file-order teacher pass tokenizes the same bytes.
    public func prefixPiece(_ text: [UInt8], cut: Int) -> (tokens: [Int32], middleStart: Int) {
        var tokens = tokenizer.encode(bytes: Array(text[..<cut]))
        if let healed = FIMPromptBuilder.splittingIndentationAsText(&tokens, tokenizer: tokenizer) {
            return (tokens, cut - healed.count)
        }
        return (tokens, cut)
    }

    /// The example for given cuts (byte offsets, `first <= second`), end-of-text last.
    public func example(_ text: [UInt8], cuts first: Int, _ second: Int, mode: FIMMode) -> [Int32] {
        precondition(0 <= first && first <= second && second <= text.count, "cuts \(first), \(second) outside 0...\(text.count)")
        let (prefix, middleStart) = prefixPiece(text, cut: first)
        let middle = tokenizer.encode(bytes: Array(text[middleStart..<second]))
        let suffix = tokenizer.encode(bytes: Array(text[second...]))
        return Self.layout(mode, prefix: prefix, middle: middle, suffix: suffix,
                           markers: (prefixID, suffixID, middleID, endOfText))
    }

    /// The pieces and the four markers in `mode`'s order: one layout for the tokens and for what each
    /// token is annotated with (`annotatedExample`), so the two cannot drift apart.
    static func layout<T>(_ mode: FIMMode, prefix: [T], middle: [T], suffix: [T],
                          markers: (prefix: T, suffix: T, middle: T, end: T)) -> [T] {
        switch mode {
        case .psm: return [markers.prefix] + prefix + [markers.suffix] + suffix + [markers.middle] + middle + [markers.end]
        case .spm: return [markers.prefix, markers.suffix] + suffix + [markers.middle] + prefix + middle + [markers.end]
        }
    }

    /// A line-completion example, the case the editor asks for most: the cursor on a random non-blank
    /// line, at a random character from its first non-blank one to its last (as `CompletionTask` draws
    /// evaluation positions); the middle runs to the end of that line (before its newline) or, with
    /// probability 1/2 per extra line, of one of the next few lines. Nil when `text` has no non-blank line.
    public func lineExample(_ text: [UInt8], spmRate: Double, using rng: inout some RandomNumberGenerator) -> [Int32]? {
        lineCuts(text, spmRate: spmRate, using: &rng).map { example(text, cuts: $0.first, $0.second, mode: $0.mode) }
    }

    /// The cuts and layout `lineExample` uses (the same draws from `rng`).
    public func lineCuts(_ text: [UInt8], spmRate: Double, using rng: inout some RandomNumberGenerator) -> FIMCuts? {
        var lines: [Range<Int>] = []
        var start = 0
        while start <= text.count {
            let newline = text[start...].firstIndex(of: 0x0A) ?? text.count
            lines.append(start..<newline)
            start = newline + 1
        }
        let isBlank = { (byte: UInt8) in byte == 0x20 || byte == 0x09 || byte == 0x0D }
        let candidates = lines.indices.filter { lines[$0].contains { !isBlank(text[$0]) } }
        guard let chosen = candidates.randomElement(using: &rng) else { return nil }
        let line = lines[chosen]
        let first = line.first { !isBlank(text[$0]) }!, last = line.last { !isBlank(text[$0]) }!
        var cursor = Int.random(in: first...last, using: &rng)
        while cursor > first && text[cursor] & 0xC0 == 0x80 { cursor -= 1 }   // a scalar boundary
        var extra = 0
        while extra < Self.maxExtraLines && chosen + extra + 1 < lines.count && Bool.random(using: &rng) { extra += 1 }
        let mode: FIMMode = Double.random(in: 0..<1, using: &rng) < spmRate ? .spm : .psm
        let middleEnd = lines[chosen + extra].upperBound
        return FIMCuts(first: cursor, second: middleEnd, mode: mode)
    }

    /// Most lines a line-completion middle runs past the cursor's own.
    static let maxExtraLines = 8

    /// A random example: two uniform cut points, SPM with probability `spmRate`.
    public func randomExample(_ text: [UInt8], spmRate: Double, using rng: inout some RandomNumberGenerator) -> [Int32] {
        let cuts = randomCuts(text, spmRate: spmRate, using: &rng)
        return example(text, cuts: cuts.first, cuts.second, mode: cuts.mode)
    }

    /// The cuts and layout `randomExample` uses (the same draws from `rng`).
    public func randomCuts(_ text: [UInt8], spmRate: Double, using rng: inout some RandomNumberGenerator) -> FIMCuts {
        let points = Self.cutPoints(text)
        let a = points[Int.random(in: 0..<points.count, using: &rng)]
        let b = points[Int.random(in: 0..<points.count, using: &rng)]
        let mode: FIMMode = Double.random(in: 0..<1, using: &rng) < spmRate ? .spm : .psm
        return FIMCuts(first: min(a, b), second: max(a, b), mode: mode)
    }

    /// `example(text, cuts:mode:)` with where each token comes from: a prefix or middle token its byte
    /// range in the document (`text` starts at byte `base` of document `document` of shard `shard`); the
    /// FIM token right before a piece an empty range where that piece starts, since it predicts the piece's
    /// first token from the text before it; suffix tokens and the other specials nil.
    public func annotatedExample(_ text: [UInt8], cuts: FIMCuts, shard: Int, document: Int, base: Int) -> (tokens: [Int32], sources: [TokenSource?]) {
        let (prefix, middleStart) = prefixPiece(text, cut: cuts.first)
        let middle = tokenizer.encode(bytes: Array(text[middleStart..<cuts.second]))
        let suffix = tokenizer.encode(bytes: Array(text[cuts.second...]))
        func located(_ tokens: [Int32], from start: Int, middle: Bool = false) -> [TokenSource?] {
            var at = base + start
            return tokens.map { token in
                let length = tokenizer.tokenBytes(token).count
                defer { at += length }
                return TokenSource(shard: shard, document: document, start: at, end: at + length, isMiddle: middle)
            }
        }
        // A marker right before the prefix or the middle stands for the text before that piece.
        let before = { (offset: Int) -> TokenSource? in TokenSource(shard: shard, document: document, start: base + offset, end: base + offset) }
        let markers: (prefix: TokenSource?, suffix: TokenSource?, middle: TokenSource?, end: TokenSource?) = cuts.mode == .psm
            ? (before(0), nil, before(middleStart), nil)
            : (nil, nil, before(0), nil)
        let tokens = Self.layout(cuts.mode, prefix: prefix, middle: middle, suffix: suffix,
                                 markers: (prefixID, suffixID, middleID, endOfText))
        let sources = Self.layout(cuts.mode, prefix: located(prefix, from: 0), middle: located(middle, from: middleStart, middle: true),
                                  suffix: [TokenSource?](repeating: nil, count: suffix.count), markers: markers)
        return (tokens, sources)
    }
}
