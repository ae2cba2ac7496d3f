/// What can go wrong while training, checkpointing or reading training data.
public enum TrainerError: Error, CustomStringConvertible {
    case invalidShape(String)
    case tokenOutOfRange(token: Int32, position: Int, vocabularySize: Int)
    case shardFormat(path: String, offset: Int, expected: String, found: String)
    case shardTooShort(path: String, tokens: Int, needed: Int)
    case checkpointFormat(path: String, offset: Int, expected: String, found: String)
    case checkpointMismatch(path: String, what: String, expected: String, found: String)
    case io(path: String, operation: String, errno: Int32)

    public var description: String {
        switch self {
        case .invalidShape(let why):
            return "invalid training shape: \(why)"
        case .tokenOutOfRange(let token, let position, let vocabularySize):
            return "token \(token) at position \(position) is outside the vocabulary (0..<\(vocabularySize))"
        case .shardFormat(let path, let offset, let expected, let found):
            return "\(path): bad token shard at byte \(offset): expected \(expected), found \(found)"
        case .shardTooShort(let path, let tokens, let needed):
            return "\(path): the shard holds \(tokens) tokens but one training window needs \(needed)"
        case .checkpointFormat(let path, let offset, let expected, let found):
            return "\(path): bad checkpoint at byte \(offset): expected \(expected), found \(found)"
        case .checkpointMismatch(let path, let what, let expected, let found):
            return "\(path): checkpoint \(what) is \(found) but this run needs \(expected)"
        case .io(let path, let operation, let errno):
            return "\(path): \(operation) failed (errno \(errno))"
        }
    }
}
