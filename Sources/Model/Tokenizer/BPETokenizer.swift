/// Token kinds as GGUF's `tokenizer.ggml.token_type` numbers them.
public enum TokenType: Int32, Sendable {
    case normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6
}

/// Byte-level BPE as GGUF stores it.
///
/// Token texts are in GPT-2's byte alphabet (see `ByteLevelAlphabet`), except control and unknown
/// tokens, whose text is literal. Encoding splits text with the llama.cpp pre-tokenizer named by
/// `preTokenizer`, maps each byte to its single-byte token, and merges inside each pre-token by rank.
/// Special-token texts in the input are never parsed: "<fim_prefix>" in a file is just text.
/// User-defined tokens (type 4) are likewise treated as ordinary text; llama.cpp would cut them out
/// of the input first, which our own vocabularies never need.
public final class BPETokenizer: Sendable {
    /// The `tokenizer.ggml.pre` name in use.
    public let preTokenizer: String
    /// Ids of the special tokens a code model needs.
    public let specials: SpecialTokens
    /// Token texts by id, as stored in GGUF.
    public let tokens: [String]
    /// Token types by id (see `TokenType`).
    public let tokenTypes: [Int32]

    private let splitter: PreTokenizer
    private let merges: MergeTable
    private let byteTokens: [Int32]
    private let decodedBytes: [[UInt8]]
    private let idsByText: [String: Int32]

    /// Builds a tokenizer from GGUF's tokenizer arrays; throws `TokenizerError` on an inconsistent vocabulary.
    public init(tokens: [String], merges: [String], tokenTypes: [Int32]?, preTokenizer: String,
                specials: SpecialTokens) throws {
        let types = tokenTypes ?? [Int32](repeating: TokenType.normal.rawValue, count: tokens.count)
        guard types.count == tokens.count else {
            throw TokenizerError.tokenTypeCountMismatch(tokens: tokens.count, tokenTypes: types.count)
        }
        splitter = try PreTokenizer(name: preTokenizer)

        var idsByText: [String: Int32] = [:]
        idsByText.reserveCapacity(tokens.count)
        for (id, text) in tokens.enumerated() {
            if let first = idsByText[text] {
                throw TokenizerError.duplicateToken(text: text, firstID: Int(first), secondID: id)
            }
            idsByText[text] = Int32(id)
        }

        // Some real vocabularies lack a few byte tokens (SmolLM2 has none for byte 0x04); llama.cpp
        // drops such a byte from the output when no merge absorbs it, and so do we.
        let byteTokens = (0..<256).map { idsByText[String(ByteLevelAlphabet.scalars[$0])] ?? BytePairMerger.missingByte }

        var table = MergeTable(capacity: merges.count)
        for (rank, rule) in merges.enumerated() {
            // Like llama.cpp, split at the first space after the first byte.
            let utf8 = rule.utf8
            guard utf8.count >= 3,
                  let space = utf8[utf8.index(after: utf8.startIndex)...].firstIndex(of: UInt8(ascii: " ")) else {
                throw TokenizerError.malformedMerge(rank: rank, merge: rule)
            }
            let left = String(rule[..<space])
            let right = String(rule[utf8.index(after: space)...])
            for part in [left, right, left + right] where idsByText[part] == nil {
                throw TokenizerError.mergeNamesMissingToken(rank: rank, merge: rule, missing: part)
            }
            table.insert(left: idsByText[left]!, right: idsByText[right]!, rank: Int32(rank),
                         merged: idsByText[left + right]!)
        }

        for (name, id) in specials.named where id < 0 || Int(id) >= tokens.count {
            throw TokenizerError.specialTokenOutOfRange(name: name, id: id, vocabularySize: tokens.count)
        }

        self.decodedBytes = zip(tokens, types).map { text, type in
            if type == TokenType.control.rawValue || type == TokenType.unknown.rawValue {
                return Array(text.utf8)
            }
            return ByteLevelAlphabet.decode(text) ?? Array(text.utf8)
        }
        self.tokens = tokens
        self.tokenTypes = types
        self.preTokenizer = preTokenizer
        self.specials = specials
        self.merges = table
        self.byteTokens = byteTokens
        self.idsByText = idsByText
    }

    /// Number of tokens in the vocabulary.
    public var vocabularySize: Int { tokens.count }

    /// The id whose stored text is exactly `text`, if any.
    public func id(ofTokenText text: String) -> Int32? { idsByText[text] }

    /// Encodes plain text; special-token strings in it are NOT parsed.
    public func encode(_ text: String) -> [Int32] {
        var text = text
        return text.withUTF8 { encode(buffer: $0) }
    }

    /// Encodes any bytes, invalid UTF-8 included (each invalid byte is its own pre-token).
    public func encode(bytes: [UInt8]) -> [Int32] {
        bytes.withUnsafeBufferPointer { encode(buffer: $0) }
    }

    private func encode(buffer: UnsafeBufferPointer<UInt8>) -> [Int32] {
        var output: [Int32] = []
        output.reserveCapacity(buffer.count / 3 + 1)
        var merger = BytePairMerger()
        let wholeWords = splitter.ignoresMerges
        splitter.split(buffer) { start, end in
            let piece = UnsafeBufferPointer(rebasing: buffer[start..<end])
            if wholeWords, let id = idsByText[ByteLevelAlphabet.encode(piece)] {
                output.append(id)
                return
            }
            merger.encode(piece, byteTokens: byteTokens, merges: merges, into: &output)
        }
        return output
    }

    /// Exact inverse of `encode(bytes:)`: concatenates each token's bytes.
    public func decode(_ ids: [Int32]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(ids.count * 4)
        for id in ids { bytes.append(contentsOf: tokenBytes(id)) }
        return bytes
    }

    /// The bytes a token stands for; control tokens give their text, e.g. "<fim_prefix>". Unknown ids give [].
    public func tokenBytes(_ id: Int32) -> [UInt8] {
        guard id >= 0, Int(id) < decodedBytes.count else { return [] }
        return decodedBytes[Int(id)]
    }

    /// Whether a token is a control token (type 3), such as the FIM markers.
    public func isControl(_ id: Int32) -> Bool {
        guard id >= 0, Int(id) < tokenTypes.count else { return false }
        return tokenTypes[Int(id)] == TokenType.control.rawValue
    }
}
