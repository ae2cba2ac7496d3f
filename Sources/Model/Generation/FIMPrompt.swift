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
    public var budget: Int
    /// Share of the budget the suffix keeps when both sides are longer than the budget.
    public var suffixShare: Double
    /// Order of the prompt; SPM by default, the order our training makes models best at (see
    /// models/README.md): with 512-token windows the middle of a PSM example rarely shares a window
    /// with the end of its prefix.
    public var order: FIMOrder

    /// Code tokens rarely cover more than this many bytes; windows are cut from the text at this rate
    /// before tokenizing so a large file is never tokenized whole.
    static let bytesPerTokenBound = 8

    public init(tokenizer: BPETokenizer, budget: Int, suffixShare: Double = 0.25, order: FIMOrder = .spm) {
        self.tokenizer = tokenizer
        self.budget = budget
        self.suffixShare = suffixShare
        self.order = order
    }

    /// The prompt for a cursor between `prefix` and `suffix` (UTF-8 bytes of the document).
    public func build(prefix: some BidirectionalCollection<UInt8>, suffix: some BidirectionalCollection<UInt8>) throws -> FIMPrompt {
        guard let pre = tokenizer.specials.fimPrefix, let suf = tokenizer.specials.fimSuffix,
              let mid = tokenizer.specials.fimMiddle else {
            throw ModelError.tokenizer("the vocabulary has no fill-in-the-middle tokens")
        }
        let textBudget = max(0, budget - 3)
        let windowBytes = textBudget * Self.bytesPerTokenBound

        // Prefix: the last bytes before the cursor, starting at a line start so the first token is clean.
        var prefixStart = prefix.index(prefix.endIndex, offsetBy: -min(prefix.count, windowBytes))
        if prefixStart != prefix.startIndex, let newline = prefix[prefixStart...].firstIndex(of: 0x0A) {
            prefixStart = prefix.index(after: newline)
        }
        var prefixTokens = tokenizer.encode(bytes: Array(prefix[prefixStart...]))

        // Suffix: the first bytes after the cursor, ending at a line end.
        var suffixEnd = suffix.index(suffix.startIndex, offsetBy: min(suffix.count, windowBytes))
        if suffixEnd != suffix.endIndex, let newline = suffix[..<suffixEnd].lastIndex(of: 0x0A) {
            suffixEnd = suffix.index(after: newline)
        }
        var suffixTokens = tokenizer.encode(bytes: Array(suffix[..<suffixEnd]))

        if prefixTokens.count + suffixTokens.count > textBudget {
            let suffixKeep = min(suffixTokens.count, max(Int(Double(textBudget) * suffixShare), textBudget - prefixTokens.count))
            let prefixKeep = min(prefixTokens.count, textBudget - suffixKeep)
            prefixTokens.removeFirst(prefixTokens.count - prefixKeep)
            suffixTokens.removeLast(suffixTokens.count - suffixKeep)
        }
        let prefixBytes = prefixTokens.reduce(0) { $0 + tokenizer.tokenBytes($1).count }
        let suffixBytes = suffixTokens.reduce(0) { $0 + tokenizer.tokenBytes($1).count }
        switch order {
        case .psm:
            return FIMPrompt(tokens: [pre] + prefixTokens + [suf] + suffixTokens + [mid], prefixTokenStart: 1,
                             prefixBytes: prefixBytes, suffixBytes: suffixBytes)
        case .spm:
            let healing = Self.takeHealingTokens(from: &prefixTokens, tokenizer: tokenizer)
            return FIMPrompt(tokens: [pre, suf] + suffixTokens + [mid] + prefixTokens, prefixTokenStart: suffixTokens.count + 3,
                             healing: healing, prefixBytes: prefixBytes, suffixBytes: suffixBytes)
        }
    }
}
