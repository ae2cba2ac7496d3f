/// The order of a fill-in-the-middle prompt (Bavarian et al. 2022).
public enum FIMOrder: String, Sendable, CaseIterable {
    /// `<fim_prefix>` prefix `<fim_suffix>` suffix `<fim_middle>`.
    case psm
    /// `<fim_prefix><fim_suffix>` suffix `<fim_middle>` prefix: the generated middle continues the prefix
    /// directly, so a model trained with context shorter than its documents still sees the text it
    /// continues right before the cursor (and typing only appends to the prompt).
    case spm
}

/// How a model is prompted, chosen from its vocabulary here and only here, so the language server,
/// `complete` and `eval` all prompt a model alike.
public enum PromptStyle: Sendable, Equatable, CustomStringConvertible {
    /// Fill-in-the-middle with the vocabulary's own FIM tokens, in this order.
    case fim(FIMOrder)
    /// No FIM tokens: the text before the cursor only (token-healed), after the document separator and,
    /// where the vocabulary has one, a file header in StarCoder's convention: this token, the file's
    /// name and a newline (`<file_sep>name\n`, `<filename>name\n`).
    case prefixOnly(fileHeaderToken: Int32?)

    /// The style for `tokenizer`'s vocabulary; `fimOrder` overrides the FIM order.
    /// Qwen's `<|fim_prefix|>` family is trained on PSM prompts (Qwen2.5-Coder's documented format);
    /// our own `<fim_prefix>` vocabularies are trained best at SPM (models/README.md).
    public init(tokenizer: BPETokenizer, fimOrder: FIMOrder? = nil) {
        let s = tokenizer.specials
        if let prefix = s.fimPrefix, s.hasFIM {
            let qwenSpelling = tokenizer.tokenBytes(prefix) == Array("<|fim_prefix|>".utf8)
            self = .fim(fimOrder ?? (qwenSpelling ? .psm : .spm))
        } else {
            self = .prefixOnly(fileHeaderToken: s.fileSeparator ?? s.fileName)
        }
    }

    /// Whether the prompt has the text after the cursor (fill-in-the-middle).
    public var isFIM: Bool {
        if case .fim = self { return true }
        return false
    }

    public var description: String {
        switch self {
        case .fim(let order): return "fill-in-the-middle, \(order.rawValue.uppercased())"
        case .prefixOnly(let header): return "prefix only\(header == nil ? "" : ", with a file header"), token healing"
        }
    }
}

/// A fill-in-the-middle prompt in PSM or SPM order.
public struct FIMPrompt: Sendable, Equatable {
    public var tokens: [Int32]
    /// Index in `tokens` where the prefix text begins (where context that reads as part of the prefix,
    /// such as code from other files, may be spliced in).
    public var prefixTokenStart: Int
    /// Bytes of the prompt's last prefix tokens (the last one, and those of the word the cursor is
    /// in), taken off the prompt so that the model writes them again together with what follows
    /// (token healing; every style). The generation must start with these bytes, which are not part of
    /// the completion. Without it a cursor inside a word ends the prompt on tokens BPE would not have
    /// cut there ("Fai" of "Failure"), and the model reads the word as finished: in PSM too, where the
    /// middle starts after the suffix (Qwen2.5-Coder at "def _abort(sel" wrote "):").
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
    /// A token that contains a newline is a clean cut already and stays, unless it ends in spaces or
    /// tabs and `blankLineEnds` is set: a cursor after a line's indentation (where the editor leaves it
    /// after Enter) ends the prompt with a token like "\n        " that the tokenizer never puts before a
    /// word (it writes "\n       " + " if"), so a model that only ever read whole files predicts another
    /// line end there (SmolLM2 on HumanEval lines: pass@1 15.0% → 31.2% with it). FIM prompts re-cut
    /// such an ending instead (`splittingIndentationAsText`): healing the whole token cost our student
    /// exact lines (Swift dev set: 24 lost, 16 won), since it must then write the line end again.
    static func takeHealingTokens(from prefixTokens: inout [Int32], tokenizer: BPETokenizer, blankLineEnds: Bool = false) -> [UInt8] {
        func isWordByte(_ b: UInt8) -> Bool {
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x5F || b >= 0x80
        }
        var healing: [UInt8] = []
        var taken = 0
        while taken < maxHealingTokens, let last = prefixTokens.last {
            let bytes = tokenizer.tokenBytes(last)
            let endsInBlank = bytes.last == 0x20 || bytes.last == 0x09
            guard !tokenizer.isControl(last), !bytes.isEmpty, !bytes.contains(0x0A) || (blankLineEnds && endsInBlank && healing.isEmpty) else { break }
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

    /// At a cursor after a line's indentation, re-cuts the prefix's last token the way the tokenizer
    /// cuts that text when code follows, and returns the blanks that cut leaves to the next token (they
    /// are healed: the generation writes them again). Alone, a prefix ending in "\n        " ends on a
    /// token that text only has before another line end, and a model that has read code, the FIM
    /// student included, answers as if the line were not indented yet (our student started 32 of the
    /// 44 such Python dev lines with a blank); as "\n       " + healed " " the prompt reads as code
    /// does and the first token is a word with its space (" return"). Nil when the prefix does not end
    /// in a line end and blanks.
    public static func splittingIndentationAsText(_ prefixTokens: inout [Int32], tokenizer: BPETokenizer) -> [UInt8]? {
        let isBlank = RelatedLines.isIndentation
        // The last tokens back to the one holding the line end, all of them blank (a vocabulary may
        // or may not merge the line end with the indentation).
        var tail: [UInt8] = [], count = 0
        for token in prefixTokens.reversed().prefix(16) {
            let bytes = tokenizer.tokenBytes(token)
            guard !tokenizer.isControl(token), !bytes.isEmpty, bytes.allSatisfy({ isBlank($0) || $0 == 0x0A }) else { return nil }
            tail = bytes + tail
            count += 1
            if bytes.contains(0x0A) { break }
        }
        guard let newline = tail.lastIndex(of: 0x0A), newline < tail.count - 1 else { return nil }
        // How the same bytes are cut when a word follows them ("a" stands for any word).
        let probe = UInt8(ascii: "a")
        let recut = tokenizer.encode(bytes: Array(tail[newline...]) + [probe])
        guard let word = recut.last else { return nil }
        let wordBytes = tokenizer.tokenBytes(word)
        guard wordBytes.last == probe, wordBytes.dropLast().allSatisfy(isBlank) else { return nil }
        prefixTokens.removeLast(count)
        prefixTokens += tokenizer.encode(bytes: Array(tail[..<newline])) + recut.dropLast()
        return Array(wordBytes.dropLast())
    }

    public let tokenizer: BPETokenizer
    /// Most tokens the prompt may take, special tokens included.
    public var budget: Int
    /// Share of the budget the suffix keeps when both sides are longer than the budget.
    public var suffixShare: Double
    /// FIM (and in which order) or prefix only; from the vocabulary unless given. Our own models are
    /// best at SPM (see models/README.md): with 512-token windows the middle of a PSM example rarely
    /// shares a window with the end of its prefix.
    public var style: PromptStyle

    /// Code tokens rarely cover more than this many bytes; windows are cut from the text at this rate
    /// before tokenizing so a large file is never tokenized whole.
    static let bytesPerTokenBound = 8

    /// A builder; `order` overrides the FIM order the vocabulary implies (see `PromptStyle`).
    public init(tokenizer: BPETokenizer, budget: Int, suffixShare: Double = 0.25, order: FIMOrder? = nil) {
        self.tokenizer = tokenizer
        self.budget = budget
        self.suffixShare = suffixShare
        self.style = PromptStyle(tokenizer: tokenizer, fimOrder: order)
    }

    /// The prompt for a cursor between `prefix` and `suffix` (UTF-8 bytes of the document) in a file
    /// called `fileName` (used by prefix-only prompts whose vocabulary has a file header token).
    public func build(prefix: some BidirectionalCollection<UInt8>, suffix: some BidirectionalCollection<UInt8>,
                      fileName: String? = nil) throws -> FIMPrompt {
        let order: FIMOrder
        switch style {
        case .fim(let fimOrder): order = fimOrder
        case .prefixOnly(let headerToken): return try buildPrefixOnly(prefix: prefix, headerToken: headerToken, fileName: fileName)
        }
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
        let indentationHealing = Self.splittingIndentationAsText(&prefixTokens, tokenizer: tokenizer)

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
        let prefixBytes = prefixTokens.reduce(indentationHealing?.count ?? 0) { $0 + tokenizer.tokenBytes($1).count }
        let suffixBytes = suffixTokens.reduce(0) { $0 + tokenizer.tokenBytes($1).count }
        let healing = indentationHealing ?? Self.takeHealingTokens(from: &prefixTokens, tokenizer: tokenizer)
        switch order {
        case .psm:
            return FIMPrompt(tokens: [pre] + prefixTokens + [suf] + suffixTokens + [mid], prefixTokenStart: 1,
                             healing: healing, prefixBytes: prefixBytes, suffixBytes: suffixBytes)
        case .spm:
            return FIMPrompt(tokens: [pre, suf] + suffixTokens + [mid] + prefixTokens, prefixTokenStart: suffixTokens.count + 3,
                             healing: healing, prefixBytes: prefixBytes, suffixBytes: suffixBytes)
        }
    }

    /// The text before the cursor alone: `<|endoftext|>` (files follow one in StarCoder-style training
    /// data, and the prompt is never empty), the file header if any, the last prefix tokens that fit,
    /// and those of the word at the cursor taken back for token healing.
    private func buildPrefixOnly(prefix: some BidirectionalCollection<UInt8>, headerToken: Int32?,
                                 fileName: String?) throws -> FIMPrompt {
        var head: [Int32] = tokenizer.specials.endOfText.map { [$0] } ?? []
        if let headerToken, let fileName, !fileName.isEmpty {
            head += [headerToken] + tokenizer.encode(fileName + "\n")
        }
        let textBudget = max(1, budget - head.count)
        var prefixStart = prefix.index(prefix.endIndex, offsetBy: -min(prefix.count, textBudget * Self.bytesPerTokenBound))
        if prefixStart != prefix.startIndex, let newline = prefix[prefixStart...].firstIndex(of: 0x0A) {
            prefixStart = prefix.index(after: newline)
        }
        var prefixTokens = tokenizer.encode(bytes: Array(prefix[prefixStart...]))
        if prefixTokens.count > textBudget { prefixTokens.removeFirst(prefixTokens.count - textBudget) }
        let prefixBytes = prefixTokens.reduce(0) { $0 + tokenizer.tokenBytes($1).count }
        var healing = Self.takeHealingTokens(from: &prefixTokens, tokenizer: tokenizer, blankLineEnds: true)
        if head.isEmpty && prefixTokens.isEmpty && !healing.isEmpty {
            // Nothing would be left to condition on: the word's tokens stay in the prompt unhealed.
            prefixTokens = tokenizer.encode(bytes: healing)
            healing = []
        }
        guard !head.isEmpty || !prefixTokens.isEmpty else {
            throw ModelError.tokenizer("empty prompt: no text before the cursor and no <|endoftext|> token to start with")
        }
        return FIMPrompt(tokens: head + prefixTokens, prefixTokenStart: head.count, healing: healing,
                         prefixBytes: prefixBytes, suffixBytes: 0)
    }
}
