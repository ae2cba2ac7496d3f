/// Builds the model prompt for a completion: a FIM prompt over the document (built by the same
/// `FIMPromptBuilder` the evaluation uses) with relevant code from other open files spliced in
/// where the prefix text begins, as a comment block, so the model reads it as part of the file's prefix.
///
/// Two choices keep the KV cache useful while the user types: the prefix window starts at a line
/// boundary that only moves every quarter window, and the suffix is limited to a few lines, so a
/// keystroke changes only the prompt's last few dozen tokens.
public struct ContextAssembler: Sendable {
    public let tokenizer: BPETokenizer
    /// Most prompt tokens, special tokens and the neighbour header included.
    public var budget: Int
    /// Suffix kept after the cursor.
    public var suffixLines = 8
    public var suffixBytes = 600
    /// Share of the budget the neighbour header may take.
    public var headerShare = 0.25
    /// FIM order, or prefix only (`PromptStyle`; from the vocabulary unless given).
    public var style: PromptStyle

    /// An assembler for prompts of at most `budget` tokens; `style` nil: the vocabulary's own.
    public init(tokenizer: BPETokenizer, budget: Int, style: PromptStyle? = nil) {
        self.tokenizer = tokenizer
        self.budget = budget
        self.style = style ?? PromptStyle(tokenizer: tokenizer)
    }

    /// The prompt tokens for `input`, given already tokenized neighbour header tokens.
    public func prompt(for input: CompletionInput, header: [Int32]) throws -> FIMPrompt {
        let header = header.count <= Int(Double(budget) * headerShare) ? header : []
        var builder = FIMPromptBuilder(tokenizer: tokenizer, budget: budget - header.count)
        builder.style = style
        let fim = try builder.build(prefix: input.prefix[prefixWindowStart(input.prefix, tokens: budget - header.count)...],
                                    suffix: input.suffix[..<suffixWindowEnd(input.suffix)],
                                    fileName: Self.fileName(input.uri))
        guard !header.isEmpty else { return fim }
        var spliced = fim
        spliced.tokens = Array(fim.tokens[..<fim.prefixTokenStart]) + header + fim.tokens[fim.prefixTokenStart...]
        return spliced
    }

    /// A line start roughly `tokens * 3` bytes before the cursor, moved in quarter-window steps only.
    func prefixWindowStart(_ prefix: [UInt8], tokens: Int) -> Int {
        let window = max(64, tokens * 3)
        guard prefix.count > window else { return 0 }
        let quantum = window / 4
        let target = ((prefix.count - window + quantum - 1) / quantum) * quantum
        guard let newline = prefix[target...].firstIndex(of: 0x0A) else { return target }
        return newline + 1
    }

    func suffixWindowEnd(_ suffix: [UInt8]) -> Int {
        var lines = 0
        let limit = min(suffix.count, suffixBytes)
        for i in 0..<limit where suffix[i] == 0x0A {
            lines += 1
            if lines == suffixLines { return i + 1 }
        }
        if limit == suffix.count { return limit }
        return (suffix[..<limit].lastIndex(of: 0x0A).map { $0 + 1 }) ?? 0
    }

    // MARK: - Neighbour header

    /// A comment block with the chunks of `input.neighbours` that share the most identifiers with the
    /// lines just above the cursor (the line being typed is left out so the header stays the same
    /// while the user types on one line).
    public func neighbourHeader(for input: CompletionInput) -> String {
        guard !input.neighbours.isEmpty else { return "" }
        let query = Self.identifiers(input.prefix[Self.neighbourQuery(in: input.prefix)])
        guard !query.isEmpty else { return "" }
        var scored: [(score: Double, name: String, lines: [Substring])] = []
        for file in input.neighbours.prefix(Self.maxNeighbours) where file.uri != input.uri {
            let text = String(decoding: file.bytes, as: UTF8.self)
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false).prefix(4000)
            var start = 0
            while start < lines.count {
                let chunk = Array(lines[start..<min(lines.count, start + Self.chunkLines)])
                let words = Self.identifiers(Array(chunk.joined(separator: "\n").utf8)[...])
                let shared = words.intersection(query).count
                if shared > 0 {
                    let score = Double(shared) / Double(words.union(query).count)
                    scored.append((score, Self.fileName(file.uri), chunk))
                }
                start += Self.chunkLines / 2
            }
        }
        let marker = Self.commentMarker(for: input.languageId)
        var header = ""
        // About three bytes a token; `prompt(for:header:)` drops a header that still comes out too long.
        let byteLimit = Int(Double(budget) * headerShare) * 3
        for chunk in scored.sorted(by: { $0.score > $1.score }).prefix(2) {
            let title = "\(marker) From \(chunk.name):\n"
            guard header.utf8.count + title.utf8.count < byteLimit else { break }
            header += title
            for line in chunk.lines {
                let commented = "\(marker) \(line.trimmingTrailingWhitespace())\n"
                if header.utf8.count + commented.utf8.count > byteLimit { return header }
                header += commented
            }
        }
        return header
    }

    static let chunkLines = 12
    /// Most other files searched for the header.
    public static let maxNeighbours = 6
    /// Bytes above the cursor's line whose identifiers choose the header's chunks.
    static let neighbourQueryBytes = 1500

    /// The bytes of `prefix` that choose the neighbour header: up to `neighbourQueryBytes` before the
    /// cursor's line (the line being typed is left out so the header stays put while the user types).
    public static func neighbourQuery(in prefix: [UInt8]) -> Range<Int> {
        let lineStart = (prefix.lastIndex(of: 0x0A).map { $0 + 1 }) ?? 0
        return max(0, lineStart - neighbourQueryBytes)..<lineStart
    }

    /// Identifiers of at least three characters (short ones like `i` match everything).
    static func identifiers(_ text: ArraySlice<UInt8>) -> Set<Substring> {
        let string = String(decoding: text, as: UTF8.self)
        var words = Set<Substring>()
        var start: String.Index? = nil
        var index = string.startIndex
        while index <= string.endIndex {
            let isWord = index < string.endIndex && (string[index].isLetter || string[index].isNumber || string[index] == "_")
            if isWord {
                if start == nil { start = index }
            } else if let s = start {
                if string.distance(from: s, to: index) >= 3, !string[s].isNumber { words.insert(string[s..<index]) }
                start = nil
            }
            if index == string.endIndex { break }
            index = string.index(after: index)
        }
        return words
    }

    /// The line-comment marker for a language id.
    public static func commentMarker(for languageId: String) -> String {
        switch languageId {
        case "python", "shellscript", "ruby", "perl", "r", "yaml", "toml", "makefile", "cmake", "dockerfile", "elixir", "julia":
            return "#"
        case "lua", "sql", "haskell", "elm", "ada":
            return "--"
        case "lisp", "clojure", "scheme":
            return ";;"
        default:
            return "//"
        }
    }

    static func fileName(_ uri: String) -> String {
        String(uri.split(separator: "/").last ?? Substring(uri))
    }
}
