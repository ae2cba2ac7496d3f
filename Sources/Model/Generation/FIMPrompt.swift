/// The order of a fill-in-the-middle prompt (Bavarian et al. 2022).
public enum FIMOrder: String, Sendable, CaseIterable {
    /// `<fim_prefix>` prefix `<fim_suffix>` suffix `<fim_middle>`.
    case psm
    /// `<fim_prefix><fim_suffix>` suffix `<fim_middle>` prefix: the generated middle continues the prefix
    /// directly, so a model trained with context shorter than its documents still sees the text it
    /// continues right before the cursor (and typing only appends to the prompt).
    case spm
}

/// A fill-in-the-middle prompt in PSM or SPM order.
public struct FIMPrompt: Sendable, Equatable {
    public var tokens: [Int32]
    /// Index in `tokens` where the prefix text begins (where context that reads as part of the prefix,
    /// such as code from other files, may be spliced in).
    public var prefixTokenStart: Int
    /// Bytes of the prompt's last prefix tokens (the last one, and those of the word the cursor is
    /// in), taken off the prompt so that the model writes them again together with what follows
    /// (token healing; SPM only). The generation must start with these bytes, which are not part of
    /// the completion. Without it a cursor inside a word ends the prompt on tokens BPE would not have
    /// cut there ("Fai" of "Failure"), and the model reads the word as finished.
    public var healing: [UInt8] = []
    /// Bytes of the prefix (counted back from the cursor) and suffix (from the cursor) the prompt covers.
    public var prefixBytes: Int
    public var suffixBytes: Int
}

/// Builds FIM prompts within a token budget, keeping the text nearest the cursor.
public struct FIMPromptBuilder: Sendable {
    /// Most prefix tokens token healing takes back.
    static let maxHealingTokens = 4

    /// Removes the tokens to heal from the end of `prefixTokens` and returns their bytes: the last
    /// token, and before it those that continue the same identifier, at most `maxHealingTokens`.
    /// A token that contains a newline is a clean cut already and stays.
    static func takeHealingTokens(from prefixTokens: inout [Int32], tokenizer: BPETokenizer) -> [UInt8] {
        func isWordByte(_ b: UInt8) -> Bool {
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x5F || b >= 0x80
        }
        var healing: [UInt8] = []
        var taken = 0
        while taken < maxHealingTokens, let last = prefixTokens.last {
            let bytes = tokenizer.tokenBytes(last)
            guard !tokenizer.isControl(last), !bytes.isEmpty, !bytes.contains(0x0A) else { break }
            // Past the last token, go on only while the word runs across the boundary.
            if let first = healing.first {
                guard isWordByte(first), isWordByte(bytes[bytes.count - 1]), prefixTokens.count > 1 else { break }
            }
            healing = bytes + healing
            prefixTokens.removeLast()
            taken += 1
        }
        return healing
    }

    public let tokenizer: BPETokenizer
    /// Most tokens the prompt may take, special tokens included.
    public var maxTokens: Int
    /// Share of the budget the suffix keeps when both sides are longer than the budget.
    public var suffixShare: Double
    /// Order of the prompt; SPM by default, the order our training makes models best at (see
    /// models/README.md): with 512-token windows the middle of a PSM example rarely shares a window
    /// with the end of its prefix.
    public var order: FIMOrder

    /// Code tokens rarely cover more than this many bytes; windows are cut from the text at this rate
    /// before tokenizing so a large file is never tokenized whole.
    static let bytesPerTokenBound = 8

    public init(tokenizer: BPETokenizer, maxTokens: Int, suffixShare: Double = 0.25, order: FIMOrder = .spm) {
        self.tokenizer = tokenizer
        self.maxTokens = maxTokens
        self.suffixShare = suffixShare
        self.order = order
    }

    /// The prompt for a cursor between `prefix` and `suffix` (UTF-8 bytes of the document). `related`
    /// (whole lines, see `RelatedLines`) goes right before the cursor's line, where a small model
    /// copies from most readily (the line above), and takes its tokens from the prefix's share; a block
    /// longer than a third of the budget is left out.
    public func build(prefix: some BidirectionalCollection<UInt8>, suffix: some BidirectionalCollection<UInt8>,
                      related: [UInt8] = []) throws -> FIMPrompt {
        guard let pre = tokenizer.specials.fimPrefix, let suf = tokenizer.specials.fimSuffix,
              let mid = tokenizer.specials.fimMiddle else {
            throw ModelError.tokenizer("the vocabulary has no fill-in-the-middle tokens")
        }
        var relatedTokens = related.isEmpty ? [] : tokenizer.encode(bytes: related)
        if relatedTokens.count > (maxTokens - 3) / 3 { relatedTokens = [] }
        let budget = max(0, maxTokens - 3 - relatedTokens.count)
        let windowBytes = budget * Self.bytesPerTokenBound

        // Prefix: the last bytes before the cursor, starting at a line start so the first token is clean.
        var prefixStart = prefix.index(prefix.endIndex, offsetBy: -min(prefix.count, windowBytes))
        if prefixStart != prefix.startIndex, let newline = prefix[prefixStart...].firstIndex(of: 0x0A) {
            prefixStart = prefix.index(after: newline)
        }
        // With related lines, the cursor's line is tokenized on its own: the block goes right before it.
        let cursorLineStart = related.isEmpty ? prefix.endIndex
            : prefix[prefixStart...].lastIndex(of: 0x0A).map { prefix.index(after: $0) } ?? prefixStart
        var prefixTokens = tokenizer.encode(bytes: Array(prefix[prefixStart..<cursorLineStart]))
        let cursorLineTokens = tokenizer.encode(bytes: Array(prefix[cursorLineStart...]))
        prefixTokens += cursorLineTokens

        // Suffix: the first bytes after the cursor, ending at a line end.
        var suffixEnd = suffix.index(suffix.startIndex, offsetBy: min(suffix.count, windowBytes))
        if suffixEnd != suffix.endIndex, let newline = suffix[..<suffixEnd].lastIndex(of: 0x0A) {
            suffixEnd = suffix.index(after: newline)
        }
        var suffixTokens = tokenizer.encode(bytes: Array(suffix[..<suffixEnd]))

        if prefixTokens.count + suffixTokens.count > budget {
            let suffixKeep = min(suffixTokens.count, max(Int(Double(budget) * suffixShare), budget - prefixTokens.count))
            let prefixKeep = min(prefixTokens.count, budget - suffixKeep)
            prefixTokens.removeFirst(prefixTokens.count - prefixKeep)
            suffixTokens.removeLast(suffixTokens.count - suffixKeep)
        }
        let prefixBytes = prefixTokens.reduce(0) { $0 + tokenizer.tokenBytes($1).count }
        let suffixBytes = suffixTokens.reduce(0) { $0 + tokenizer.tokenBytes($1).count }
        let blockAt = max(0, prefixTokens.count - cursorLineTokens.count)
        switch order {
        case .psm:
            let prefixPart = Array(prefixTokens[..<blockAt]) + relatedTokens + prefixTokens[blockAt...]
            return FIMPrompt(tokens: [pre] + prefixPart + [suf] + suffixTokens + [mid], prefixTokenStart: 1,
                             prefixBytes: prefixBytes, suffixBytes: suffixBytes)
        case .spm:
            let healing = Self.takeHealingTokens(from: &prefixTokens, tokenizer: tokenizer)
            let at = min(blockAt, prefixTokens.count)
            let prefixPart = Array(prefixTokens[..<at]) + relatedTokens + prefixTokens[at...]
            return FIMPrompt(tokens: [pre, suf] + suffixTokens + [mid] + prefixPart, prefixTokenStart: suffixTokens.count + 3,
                             healing: healing, prefixBytes: prefixBytes, suffixBytes: suffixBytes)
        }
    }
}
