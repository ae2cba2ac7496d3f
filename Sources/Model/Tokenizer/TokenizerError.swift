/// Why a vocabulary could not be turned into a tokenizer.
public enum TokenizerError: Error, CustomStringConvertible, Equatable {
    /// `tokenizer.ggml.pre` names a pre-tokenizer we do not implement.
    case unknownPreTokenizer(String)
    /// Two ids carry the same token text, so text → id would be ambiguous.
    case duplicateToken(text: String, firstID: Int, secondID: Int)
    /// A merge rule is not of the form "left right".
    case malformedMerge(rank: Int, merge: String)
    /// A merge rule names a token (left, right or their concatenation) that is not in the vocabulary.
    case mergeNamesMissingToken(rank: Int, merge: String, missing: String)
    /// `tokenizer.ggml.token_type` does not have one entry per token.
    case tokenTypeCountMismatch(tokens: Int, tokenTypes: Int)
    /// A special token id lies outside the vocabulary.
    case specialTokenOutOfRange(name: String, id: Int32, vocabularySize: Int)

    public var description: String {
        switch self {
        case .unknownPreTokenizer(let name):
            return "unknown pre-tokenizer '\(name)'; supported: \(PreTokenizer.supportedNames.joined(separator: ", "))"
        case .duplicateToken(let text, let first, let second):
            return "token text \(text.debugDescription) appears twice, at ids \(first) and \(second)"
        case .malformedMerge(let rank, let merge):
            return "merge #\(rank) \(merge.debugDescription) is not of the form \"left right\""
        case .mergeNamesMissingToken(let rank, let merge, let missing):
            return "merge #\(rank) \(merge.debugDescription) needs token \(missing.debugDescription), which is not in the vocabulary"
        case .tokenTypeCountMismatch(let tokens, let types):
            return "expected \(tokens) token types (one per token), found \(types)"
        case .specialTokenOutOfRange(let name, let id, let size):
            return "special token \(name) has id \(id), outside the vocabulary of \(size) tokens"
        }
    }
}
