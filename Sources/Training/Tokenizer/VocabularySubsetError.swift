/// Why a student vocabulary could not be cut from a teacher's.
public enum VocabularySubsetError: Error, CustomStringConvertible, Equatable {
    case countMismatch(counts: Int, tokens: Int)
    case tokenTypeMismatch(types: Int, tokens: Int)
    case teacherMerge(rank: Int, merge: String)
    case vocabularyTooSmall(requested: Int, needed: Int)
    case addedTokenExists(String)

    public var description: String {
        switch self {
        case .countMismatch(let counts, let tokens):
            return "\(counts) token counts for a teacher vocabulary of \(tokens) tokens"
        case .tokenTypeMismatch(let types, let tokens):
            return "the teacher has \(types) token types for \(tokens) tokens"
        case .teacherMerge(let rank, let merge):
            return "the teacher's merge \(rank) (\(merge.debugDescription)) is malformed or names a token it lacks"
        case .vocabularyTooSmall(let requested, let needed):
            return "a vocabulary of \(requested) tokens cannot hold the teacher's special and byte tokens "
                + "and the added FIM markers (\(needed) tokens)"
        case .addedTokenExists(let text):
            return "the teacher has no FIM id for \(text.debugDescription) but a token with that text; "
                + "its metadata should name it (tokenizer.ggml.fim_*_token_id)"
        }
    }
}
