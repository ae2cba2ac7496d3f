/// Splits text into pre-tokens exactly as llama.cpp does for a `tokenizer.ggml.pre` name.
///
/// llama.cpp runs a list of regexes one after another: each one splits every piece the previous one
/// left, and both its matches and the text between them become pieces. Most lists use one of three
/// hand-written matchers (GPT-2's regex, and the llama3 / qwen2 regexes); the rest are simple
/// character-class patterns that `PatternStage` matches with std::regex's leftmost-first semantics.
/// The lists, from llama.cpp's `llm_tokenizer_bpe` (llama-vocab.cpp):
/// - "gpt-2": GPT-2's regex `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`;
/// - "starcoder", "smollm", "refact", "codeshell": `\p{N}` (every number code point alone), then GPT-2's.
///   This is the one we train with: indentation stays one whitespace run (its last space joins the next
///   word) and numbers cannot grow arbitrary multi-digit tokens;
/// - "qwen2": `(?i:'s|…)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`;
/// - "llama-bpe" (also "llama3", "llama-v3"): the same with `\p{N}{1,3}`;
/// - "deepseek-coder": `[\r\n]`, `\s?\p{L}+`, `\s?\p{P}+`, `[一-龥ࠀ-一가-퟿]+`, `\p{N}`;
/// - "default", and a file without `tokenizer.ggml.pre` (llama.cpp warns and uses "default"):
///   `[\p{P}\$\+<=>\^~\|]+`, GPT-2's, `\p{N}+`, `[0-9][0-9][0-9]`.
/// Differences from llama.cpp, by design: an invalid UTF-8 byte becomes its own pre-token (llama.cpp
/// replaces it with U+FFFD, so it cannot round-trip), and it cuts the text like a digit does.
public struct PreTokenizer: Sendable, Equatable {
    /// The `tokenizer.ggml.pre` name this splitter was made for ("default" when the file has none).
    public let name: String
    let stages: [Stage]

    /// Names accepted for `tokenizer.ggml.pre`, grouped as llama.cpp groups them.
    public static let supportedNames = [
        "default", "gpt-2", "starcoder", "smollm", "refact", "codeshell", "qwen2", "deepseek-r1-qwen",
        "llama-bpe", "llama3", "llama-v3", "deepseek-coder",
    ]

    /// Looks up a llama.cpp pre-tokenizer by its GGUF name (nil: the key is missing, as "default").
    public init(name: String?) throws(TokenizerError) {
        let name = name ?? "default"
        switch name {
        case "gpt-2":
            stages = [.gpt2]
        case "starcoder", "smollm", "refact", "codeshell":
            stages = [.pattern(.init(.number, maxLength: 1)), .gpt2]
        case "qwen2", "deepseek-r1-qwen":
            stages = [.llama3(digitGroup: 1)]
        case "llama-bpe", "llama3", "llama-v3":
            stages = [.llama3(digitGroup: 3)]
        case "deepseek-coder":
            stages = [.pattern(.init(.lineBreak, maxLength: 1)),
                      .pattern(.init(.letter, optionalWhitespace: true)),
                      .pattern(.init(.punctuation, optionalWhitespace: true)),
                      .pattern(.init(.cjk)),
                      .pattern(.init(.number, maxLength: 1))]
        case "default":
            stages = [.pattern(.init(.defaultPunctuation)), .gpt2, .pattern(.init(.number)),
                      .pattern(.init(.asciiDigit, minLength: 3, maxLength: 3))]
        default:
            throw .unknownPreTokenizer(name)
        }
        self.name = name
    }

    /// Whether every \p{N} code point is a pre-token of its own before anything else (the StarCoder family).
    public var splitsDigits: Bool { stages.first == .pattern(.init(.number, maxLength: 1)) }

    /// Whether llama.cpp looks a whole pre-token up in the vocabulary before merging (`ignore_merges`,
    /// set for the llama3 family): a pre-token that is a token is that token, whatever the merges say.
    public var ignoresMerges: Bool { stages == [.llama3(digitGroup: 3)] }

    /// The pre-tokens of `bytes`, as byte ranges that tile the input in order.
    public func pieces(_ bytes: [UInt8]) -> [Range<Int>] {
        var result: [Range<Int>] = []
        bytes.withUnsafeBufferPointer { buffer in
            split(buffer) { start, end in result.append(start..<end) }
        }
        return result
    }

    /// Calls `body(start, end)` for each pre-token of `bytes`, in order; the ranges tile the input.
    public func split(_ bytes: UnsafeBufferPointer<UInt8>, _ body: (Int, Int) -> Void) {
        // One entry per code point (or invalid byte): where it starts, its value and how the regexes see it.
        var starts: [Int] = []
        var values: [UInt32] = []
        var classes: [CodepointClass] = []
        starts.reserveCapacity(bytes.count + 1)
        values.reserveCapacity(bytes.count)
        classes.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            starts.append(index)
            if byte < 0x80 {
                values.append(UInt32(byte))
                classes.append(CodepointClass.ascii[Int(byte)])
                index += 1
            } else if let (value, length) = UTF8Scalar.decode(bytes, at: index) {
                values.append(value)
                classes.append(CodepointClass.of(value))
                index += length
            } else {
                values.append(UInt32.max)
                classes.append(.invalidByte)
                index += 1
            }
        }
        starts.append(bytes.count)
        let text = CodepointText(bytes: bytes, starts: starts, values: values, classes: classes)

        // Invalid bytes cut the text before any regex runs; each stays a piece of its own, which no
        // stage can split further.
        var pieces: [Range<Int>] = []
        var segmentStart = 0
        for unit in 0..<classes.count where classes[unit] == .invalidByte {
            if unit > segmentStart { pieces.append(segmentStart..<unit) }
            pieces.append(unit..<(unit + 1))
            segmentStart = unit + 1
        }
        if classes.count > segmentStart { pieces.append(segmentStart..<classes.count) }

        for stage in stages.dropLast() {
            var next: [Range<Int>] = []
            next.reserveCapacity(pieces.count * 2)
            for piece in pieces { text.run(stage, piece) { next.append($0..<$1) } }
            pieces = next
        }
        let last = stages[stages.count - 1]
        for piece in pieces { text.run(last, piece) { body(starts[$0], starts[$1]) } }
    }
}

/// One regex of a llama.cpp pre-tokenizer list.
enum Stage: Sendable, Equatable {
    /// GPT-2's regex, as llama.cpp's `unicode_regex_split_custom_gpt2` matches it.
    case gpt2
    /// The llama3 regex (`digitGroup` 3) or qwen2's (`digitGroup` 1), as llama.cpp's custom matchers.
    case llama3(digitGroup: Int)
    /// A character-class pattern matched by std::regex in llama.cpp.
    case pattern(PatternStage)
}

/// A pattern `\s?C{min,max}` for one character class C, matched leftmost-first as std::regex does;
/// the text between matches stays a piece too.
struct PatternStage: Sendable, Equatable {
    enum CharacterClass: Sendable, Equatable {
        /// `\p{L}`, `\p{N}` and llama.cpp's `\p{P}` (Unicode P*; `$+<=>^`|~` are symbols).
        case letter, number, punctuation
        /// `[\p{P}\$\+<=>\^~\|]` of the "default" list.
        case defaultPunctuation
        /// `[\r\n]`, `[0-9]`.
        case lineBreak, asciiDigit
        /// `[一-龥ࠀ-一가-퟿]`: U+0800…U+9FA5 and U+AC00…U+D7FF.
        case cjk
    }

    var characterClass: CharacterClass
    /// Whether one whitespace code point may start a match (`\s?`).
    var optionalWhitespace = false
    var minLength = 1
    var maxLength = Int.max

    init(_ characterClass: CharacterClass, optionalWhitespace: Bool = false, minLength: Int = 1,
         maxLength: Int = .max) {
        self.characterClass = characterClass
        self.optionalWhitespace = optionalWhitespace
        self.minLength = minLength
        self.maxLength = maxLength
    }
}

/// The code points of one text with what the matchers need to know about each.
private struct CodepointText {
    let bytes: UnsafeBufferPointer<UInt8>
    let starts: [Int]
    let values: [UInt32]
    let classes: [CodepointClass]

    /// Splits the code points of `piece` with `stage`, calling `emit(start, end)` for each new piece.
    func run(_ stage: Stage, _ piece: Range<Int>, _ emit: (Int, Int) -> Void) {
        switch stage {
        case .gpt2: gpt2(piece, emit)
        case .llama3(let group): llama3(piece, digitGroup: group, emit)
        case .pattern(let pattern): match(pattern, piece, emit)
        }
    }

    func isMember(_ unit: Int, of characterClass: PatternStage.CharacterClass) -> Bool {
        let value = values[unit]
        switch characterClass {
        case .letter: return classes[unit] == .letter
        case .number: return classes[unit] == .number
        case .punctuation: return CodepointClass.isPunctuation(value)
        case .defaultPunctuation:
            switch value {
            case 0x24, 0x2B, 0x3C, 0x3D, 0x3E, 0x5E, 0x7E, 0x7C: return true   // $ + < = > ^ ~ |
            default: return CodepointClass.isPunctuation(value)
            }
        case .lineBreak: return value == 0x0D || value == 0x0A
        case .asciiDigit: return value >= 0x30 && value <= 0x39
        case .cjk:
            // llama.cpp hands std::wregex every non-ASCII whitespace code point as U+000B, so U+2028 and
            // U+3000, inside the range, never match it.
            return classes[unit] != .whitespace
                && ((0x0800...0x9FA5).contains(value) || (0xAC00...0xD7FF).contains(value))
        }
    }

    /// Leftmost-first matches of `\s?C{min,max}` (greedy), each followed or preceded by the unmatched gap.
    func match(_ pattern: PatternStage, _ piece: Range<Int>, _ emit: (Int, Int) -> Void) {
        var gapStart = piece.lowerBound
        var pos = piece.lowerBound
        while pos < piece.upperBound {
            var runStart = pos
            if pattern.optionalWhitespace && classes[pos] == .whitespace && pos + 1 < piece.upperBound
                && isMember(pos + 1, of: pattern.characterClass) {
                runStart = pos + 1
            }
            var end = runStart
            while end < piece.upperBound && end - runStart < pattern.maxLength
                    && isMember(end, of: pattern.characterClass) {
                end += 1
            }
            if end - runStart >= pattern.minLength {
                if pos > gapStart { emit(gapStart, pos) }
                emit(pos, end)
                pos = end
                gapStart = end
            } else {
                pos += 1
            }
        }
        if piece.upperBound > gapStart { emit(gapStart, piece.upperBound) }
    }

    /// llama.cpp's hand-written matcher for the GPT-2 regex; positions outside the piece read as "nothing".
    func gpt2(_ piece: Range<Int>, _ emit: (Int, Int) -> Void) {
        let upper = piece.upperBound
        @inline(__always) func kind(_ unit: Int) -> CodepointClass? { unit < upper ? classes[unit] : nil }
        // Only ASCII values are ever compared, and a non-ASCII lead byte never equals one.
        @inline(__always) func lead(_ unit: Int) -> UInt8 { bytes[starts[unit]] }
        let space = UInt8(ascii: " "), apostrophe = UInt8(ascii: "'")

        var pos = piece.lowerBound
        func cut(_ end: Int) {
            emit(pos, end)
            pos = end
        }
        while pos < upper {
            let first = lead(pos)
            // 's|'t|'re|'ve|'m|'ll|'d
            if first == apostrophe && pos + 1 < upper, let length = contraction(after: pos, upper, caseInsensitive: false) {
                cut(pos + length)
                continue
            }
            // ` ?\p{L}+`, ` ?\p{N}+` and ` ?[^\s\p{L}\p{N}]+`: one optional space, then a run of one class.
            let leadingSpace = first == space
            let runKind = leadingSpace ? kind(pos + 1) : classes[pos]
            if let runKind, runKind != .whitespace {
                var end = pos + (leadingSpace ? 1 : 0)
                while kind(end) == runKind { end += 1 }
                cut(end)
                continue
            }
            // `\s+(?!\S)` leaves the last space of a run to prefix the next word; `\s+` takes the rest.
            var spaces = 0
            while kind(pos + spaces) == .whitespace { spaces += 1 }
            if spaces > 1 && pos + spaces < upper {
                cut(pos + spaces - 1)
            } else if spaces > 0 {
                cut(pos + spaces)
            } else {
                cut(pos + 1)
            }
        }
    }

    /// The length of the contraction (`'s`, `'t`, `'re`, `'ve`, `'m`, `'ll`, `'d`) at the apostrophe
    /// `pos`, if any. llama3 and qwen2 match them in either case.
    func contraction(after pos: Int, _ upper: Int, caseInsensitive: Bool) -> Int? {
        func letter(_ unit: Int) -> UInt32? {
            guard unit < upper else { return nil }
            let v = values[unit]
            return caseInsensitive && v >= 0x41 && v <= 0x5A ? v + 0x20 : v
        }
        guard let next = letter(pos + 1) else { return nil }
        if next == 0x73 || next == 0x74 || next == 0x6D || next == 0x64 { return 2 }   // s t m d
        guard let third = letter(pos + 2) else { return nil }
        if (next == 0x72 && third == 0x65) || (next == 0x76 && third == 0x65) || (next == 0x6C && third == 0x6C) {
            return 3   // re ve ll
        }
        return nil
    }

    /// llama.cpp's hand-written matcher for the llama3 regex (`\p{N}{1,3}`, `digitGroup` 3) and qwen2's
    /// (`\p{N}`, `digitGroup` 1).
    func llama3(_ piece: Range<Int>, digitGroup: Int, _ emit: (Int, Int) -> Void) {
        let upper = piece.upperBound
        @inline(__always) func kind(_ unit: Int) -> CodepointClass? { unit < upper ? classes[unit] : nil }
        @inline(__always) func isLineBreak(_ unit: Int) -> Bool {
            unit < upper && (values[unit] == 0x0A || values[unit] == 0x0D)
        }
        var pos = piece.lowerBound
        func cut(_ end: Int) {
            if end > pos { emit(pos, end) }
            pos = end
        }
        while pos < upper {
            let value = values[pos], here = classes[pos]
            // (?i:'s|'t|'re|'ve|'m|'ll|'d)
            if value == 0x27, let length = contraction(after: pos, upper, caseInsensitive: true) {
                cut(pos + length)
                continue
            }
            // [^\r\n\p{L}\p{N}]?\p{L}+
            if !isLineBreak(pos) && here != .number && (here == .letter || kind(pos + 1) == .letter) {
                var end = pos + 1
                while kind(end) == .letter { end += 1 }
                cut(end)
                continue
            }
            // \p{N}{1,3} or \p{N}
            if here == .number {
                var end = pos
                while kind(end) == .number && end - pos < digitGroup { end += 1 }
                cut(end)
                continue
            }
            // ` ?[^\s\p{L}\p{N}]+[\r\n]*`
            let runStart = value == 0x20 ? pos + 1 : pos
            if let k = kind(runStart), k != .whitespace && k != .letter && k != .number {
                var end = runStart
                while let k = kind(end), k != .whitespace && k != .letter && k != .number { end += 1 }
                while isLineBreak(end) { end += 1 }
                cut(end)
                continue
            }
            // \s*[\r\n]+ ends after the run's last line break; else \s+(?!\S) and \s+ as in GPT-2's.
            var spaces = 0, lastBreakEnd = 0
            while kind(pos + spaces) == .whitespace {
                if isLineBreak(pos + spaces) { lastBreakEnd = pos + spaces + 1 }
                spaces += 1
            }
            if lastBreakEnd > 0 {
                cut(lastBreakEnd)
            } else if spaces > 1 && pos + spaces < upper {
                cut(pos + spaces - 1)
            } else if spaces > 0 {
                cut(pos + spaces)
            } else {
                cut(pos + 1)
            }
        }
    }
}
