/// Special token ids a code model needs (nil when the vocabulary has none).
public struct SpecialTokens: Sendable, Equatable {
    public var endOfText: Int32?
    public var fimPrefix: Int32?
    public var fimSuffix: Int32?
    public var fimMiddle: Int32?
    public var fimPad: Int32?

    /// Creates a set of special token ids; leave out the ones the vocabulary lacks.
    public init(endOfText: Int32? = nil, fimPrefix: Int32? = nil, fimSuffix: Int32? = nil,
                fimMiddle: Int32? = nil, fimPad: Int32? = nil) {
        self.endOfText = endOfText
        self.fimPrefix = fimPrefix
        self.fimSuffix = fimSuffix
        self.fimMiddle = fimMiddle
        self.fimPad = fimPad
    }

    /// Finds the conventional StarCoder-style special token texts in a token list.
    public init(findingIn tokens: [String]) {
        var index: [String: Int32] = [:]
        for (id, text) in tokens.enumerated() where index[text] == nil { index[text] = Int32(id) }
        self.init(endOfText: index["<|endoftext|>"], fimPrefix: index["<fim_prefix>"],
                  fimSuffix: index["<fim_suffix>"], fimMiddle: index["<fim_middle>"],
                  fimPad: index["<fim_pad>"])
    }

    /// The ids that are set, with their names, for validation and listing.
    public var named: [(name: String, id: Int32)] {
        var result: [(String, Int32)] = []
        if let id = endOfText { result.append(("endOfText", id)) }
        if let id = fimPrefix { result.append(("fimPrefix", id)) }
        if let id = fimSuffix { result.append(("fimSuffix", id)) }
        if let id = fimMiddle { result.append(("fimMiddle", id)) }
        if let id = fimPad { result.append(("fimPad", id)) }
        return result
    }
}
