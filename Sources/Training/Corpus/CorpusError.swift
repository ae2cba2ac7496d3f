import Foundation

/// Why a corpus could not be read, built, sharded or loaded.
public enum CorpusError: Error, CustomStringConvertible, Equatable {
    case git(repository: String, arguments: [String], status: Int32, stderr: String)
    case gitOutput(repository: String, detail: String)
    case unreadable(path: String)
    case unwritable(path: String, detail: String)
    case notADirectory(path: String)
    case shardMagic(path: String, found: [UInt8])
    case shardVersion(path: String, found: UInt32, expected: UInt32)
    case shardTruncated(path: String, needed: Int, size: Int)
    case shardInconsistent(path: String, detail: String)
    case tokenOutOfRange(token: Int32, vocabularySize: Int)
    case missingSpecialToken(String)
    case emptyShards

    public var description: String {
        switch self {
        case .git(let repo, let args, let status, let stderr):
            return "git \(args.joined(separator: " ")) in \(repo) exited with status \(status): \(stderr.trimmingCharacters(in: .whitespacesAndNewlines))"
        case .gitOutput(let repo, let detail): return "unexpected git output in \(repo): \(detail)"
        case .unreadable(let path): return "cannot read \(path)"
        case .unwritable(let path, let detail): return "cannot write \(path): \(detail)"
        case .notADirectory(let path): return "\(path) is not a directory"
        case .shardMagic(let path, let found):
            return "\(path) is not a token shard: magic bytes \(found) (expected \(Array(TokenShard.magic)))"
        case .shardVersion(let path, let found, let expected):
            return "\(path): shard format version \(found), this build reads version \(expected)"
        case .shardTruncated(let path, let needed, let size):
            return "\(path) is truncated: the header says \(needed) bytes, the file has \(size)"
        case .shardInconsistent(let path, let detail): return "\(path): \(detail)"
        case .tokenOutOfRange(let token, let n): return "token id \(token) does not fit a vocabulary of \(n)"
        case .missingSpecialToken(let name): return "the tokenizer has no \(name) token"
        case .emptyShards: return "the shards hold no tokens"
        }
    }
}
