/// Special token ids a code model needs (nil when the vocabulary has none).
public struct SpecialTokens: Sendable, Equatable {
    public var endOfText: Int32?
    public var fimPrefix: Int32?
    public var fimSuffix: Int32?
    public var fimMiddle: Int32?
    public var fimPad: Int32?
    /// Starts a repository's name (`<|repo_name|>`, `<repo_name>`, `<reponame>`; GGUF's `fim_rep`).
    public var repoName: Int32?
    /// Starts a file in a repository-level sequence, followed by its path and a newline
    /// (`<|file_sep|>`, `<file_sep>`; GGUF's `fim_sep`).
    public var fileSeparator: Int32?
    /// Starts a file's name in StarCoder's original convention (`<filename>`).
    public var fileName: Int32?

    /// Creates a set of special token ids; leave out the ones the vocabulary lacks.
    public init(endOfText: Int32? = nil, fimPrefix: Int32? = nil, fimSuffix: Int32? = nil,
                fimMiddle: Int32? = nil, fimPad: Int32? = nil, repoName: Int32? = nil,
                fileSeparator: Int32? = nil, fileName: Int32? = nil) {
        self.endOfText = endOfText
        self.fimPrefix = fimPrefix
        self.fimSuffix = fimSuffix
        self.fimMiddle = fimMiddle
        self.fimPad = fimPad
        self.repoName = repoName
        self.fileSeparator = fileSeparator
        self.fileName = fileName
    }

    /// The spellings llama.cpp (and the model families it names) use for each token, most common first.
    static var spellings: [(field: WritableKeyPath<SpecialTokens, Int32?>, texts: [String])] { [
        (\.endOfText, ["<|endoftext|>"]),
        (\.fimPrefix, ["<|fim_prefix|>", "<fim_prefix>", "<fim-prefix>"]),
        (\.fimSuffix, ["<|fim_suffix|>", "<fim_suffix>", "<fim-suffix>"]),
        (\.fimMiddle, ["<|fim_middle|>", "<fim_middle>", "<fim-middle>"]),
        (\.fimPad, ["<|fim_pad|>", "<fim_pad>", "<fim-pad>"]),
        (\.repoName, ["<|repo_name|>", "<repo_name>", "<reponame>", "<|fim_repo|>"]),
        (\.fileSeparator, ["<|file_sep|>", "<file_sep>"]),
        (\.fileName, ["<filename>"]),
    ] }

    /// Finds the conventional special token texts (StarCoder's `<fim_prefix>`, Qwen's `<|fim_prefix|>`,
    /// …) in a token list.
    public init(findingIn tokens: [String]) {
        self.init()
        fillMissing(from: tokens)
    }

    /// Sets each id still missing to the first known spelling the token list has, as llama.cpp does
    /// for files whose metadata lacks the `tokenizer.ggml.fim_*_token_id` keys.
    public mutating func fillMissing(from tokens: [String]) {
        var index: [String: Int32] = [:]
        let wanted = Set(Self.spellings.flatMap(\.texts))
        for (id, text) in tokens.enumerated() where wanted.contains(text) && index[text] == nil {
            index[text] = Int32(id)
        }
        for (field, texts) in Self.spellings where self[keyPath: field] == nil {
            self[keyPath: field] = texts.lazy.compactMap { index[$0] }.first
        }
    }

    /// Whether the vocabulary can be prompted with fill-in-the-middle.
    public var hasFIM: Bool { fimPrefix != nil && fimSuffix != nil && fimMiddle != nil }

    /// The ids that are set, with their names, for validation and listing.
    public var named: [(name: String, id: Int32)] {
        let all: [(String, Int32?)] = [
            ("endOfText", endOfText), ("fimPrefix", fimPrefix), ("fimSuffix", fimSuffix), ("fimMiddle", fimMiddle),
            ("fimPad", fimPad), ("repoName", repoName), ("fileSeparator", fileSeparator), ("fileName", fileName),
        ]
        return all.compactMap { name, id in id.map { (name, $0) } }
    }
}
