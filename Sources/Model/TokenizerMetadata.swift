import Kernels

/// The `tokenizer.ggml.*` data of a byte-level BPE vocabulary, as stored in GGUF.
public struct TokenizerMetadata: Sendable, Equatable {
    public var tokens: [String]
    public var merges: [String]
    public var tokenTypes: [Int32]
    public var preTokenizer: String
    public var specials: SpecialTokens
    /// For a vocabulary cut from a teacher's (`understudy tokenizer subset`): each token's id in the
    /// teacher's vocabulary, -1 for a token the teacher lacks (added FIM markers).
    public var teacherTokenIDs: [Int32]?
    /// The size of the teacher vocabulary that `teacherTokenIDs` index into.
    public var teacherVocabularySize: Int?

    /// The GGUF key of `teacherTokenIDs` (an INT32 array; llama.cpp ignores it).
    public static let teacherTokenIDsKey = "understudy.tokenizer.teacher_ids"
    /// The GGUF key of `teacherVocabularySize` (UInt32).
    public static let teacherVocabularySizeKey = "understudy.tokenizer.teacher_vocab_size"

    public init(tokens: [String], merges: [String], tokenTypes: [Int32], preTokenizer: String, specials: SpecialTokens,
                teacherTokenIDs: [Int32]? = nil, teacherVocabularySize: Int? = nil) {
        self.tokens = tokens
        self.merges = merges
        self.tokenTypes = tokenTypes
        self.preTokenizer = preTokenizer
        self.specials = specials
        self.teacherTokenIDs = teacherTokenIDs
        self.teacherVocabularySize = teacherVocabularySize
    }

    /// Reads the vocabulary of a GGUF file.
    public init(gguf file: GGUFFile) throws(ModelError) {
        guard let model = file["tokenizer.ggml.model"]?.string else { throw .missingMetadata("tokenizer.ggml.model") }
        guard model == "gpt2" else { throw .tokenizer("tokenizer model '\(model)' is not supported (only byte-level BPE, 'gpt2')") }
        guard let tokens = file["tokenizer.ggml.tokens"]?.strings else { throw .missingMetadata("tokenizer.ggml.tokens") }
        guard let merges = file["tokenizer.ggml.merges"]?.strings else { throw .missingMetadata("tokenizer.ggml.merges") }
        let types = file["tokenizer.ggml.token_type"]?.ints?.map { Int32(truncatingIfNeeded: $0) }
            ?? [Int32](repeating: 1, count: tokens.count)
        guard types.count == tokens.count else {
            throw .badMetadata("tokenizer.ggml.token_type", "\(types.count) types for \(tokens.count) tokens")
        }
        func id(_ key: String) throws(ModelError) -> Int32? {
            guard let value = file[key] else { return nil }
            guard let i = value.int, i >= 0, i < tokens.count else {
                throw .badMetadata(key, "not a token id below \(tokens.count)")
            }
            return Int32(i)
        }
        func id(_ key: String, or older: String) throws(ModelError) -> Int32? {
            if let found = try id(key) { return found }
            return try id(older)
        }
        // The keys first (the older `prefix_token_id` spellings too), then the known token texts, as llama.cpp.
        var specials = SpecialTokens(
            endOfText: try id("tokenizer.ggml.eos_token_id"),
            fimPrefix: try id("tokenizer.ggml.fim_pre_token_id", or: "tokenizer.ggml.prefix_token_id"),
            fimSuffix: try id("tokenizer.ggml.fim_suf_token_id", or: "tokenizer.ggml.suffix_token_id"),
            fimMiddle: try id("tokenizer.ggml.fim_mid_token_id", or: "tokenizer.ggml.middle_token_id"),
            fimPad: try id("tokenizer.ggml.fim_pad_token_id"),
            repoName: try id("tokenizer.ggml.fim_rep_token_id"),
            fileSeparator: try id("tokenizer.ggml.fim_sep_token_id"))
        // The document separator, not an instruct model's end of turn: SmolLM2-Instruct's EOS key names
        // `<|im_end|>`, while its code was trained with files between `<|endoftext|>` tokens.
        if let documentEnd = tokens.firstIndex(of: "<|endoftext|>") { specials.endOfText = Int32(documentEnd) }
        specials.fillMissing(from: tokens)
        let mapping = try Self.teacherMapping(in: file, tokenCount: tokens.count)
        self.init(tokens: tokens, merges: merges, tokenTypes: types,
                  preTokenizer: file["tokenizer.ggml.pre"]?.string ?? "default",
                  specials: specials, teacherTokenIDs: mapping?.ids, teacherVocabularySize: mapping?.size)
    }

    /// The teacher mapping, if the file has one; both keys or neither, and an id at most once, so that a
    /// distillation never reads a teacher logit outside the teacher's vocabulary or for two student tokens.
    private static func teacherMapping(in file: GGUFFile, tokenCount: Int) throws(ModelError) -> (ids: [Int32], size: Int)? {
        let idsValue = file[teacherTokenIDsKey], sizeValue = file[teacherVocabularySizeKey]
        if idsValue == nil && sizeValue == nil { return nil }
        guard let sizeValue else { throw .badMetadata(teacherTokenIDsKey, "present without \(teacherVocabularySizeKey)") }
        guard let idsValue else { throw .badMetadata(teacherVocabularySizeKey, "present without \(teacherTokenIDsKey)") }
        guard let size = sizeValue.int, size > 0, size <= Int(Int32.max) else {
            throw .badMetadata(teacherVocabularySizeKey, "not a vocabulary size (a positive 32-bit integer)")
        }
        guard let values = idsValue.ints else { throw .badMetadata(teacherTokenIDsKey, "not an array of integers") }
        guard values.count == tokenCount else {
            throw .badMetadata(teacherTokenIDsKey, "\(values.count) teacher ids for \(tokenCount) tokens")
        }
        // Keyed by teacher id rather than an array of `size`, which a hostile file could make huge.
        var owner: [Int: Int] = [:]
        owner.reserveCapacity(values.count)
        for (id, teacherID) in values.enumerated() where teacherID != -1 {
            guard teacherID >= 0, teacherID < size else {
                throw .badMetadata(teacherTokenIDsKey, "token \(id) maps to \(teacherID), outside -1 and 0..<\(size)")
            }
            if let first = owner.updateValue(id, forKey: teacherID) {
                throw .badMetadata(teacherTokenIDsKey, "tokens \(first) and \(id) both map to teacher id \(teacherID)")
            }
        }
        return (values.map { Int32($0) }, size)
    }

    /// Writes the keys llama.cpp reads for a "gpt2" (byte-level BPE) vocabulary.
    public func write(to writer: inout GGUFWriter) {
        writer.set("tokenizer.ggml.model", .string("gpt2"))
        writer.set("tokenizer.ggml.pre", .string(preTokenizer))
        writer.set("tokenizer.ggml.tokens", .array(GGUFArray(elementType: .string, values: tokens.map { .string($0) })))
        writer.set("tokenizer.ggml.token_type", .array(GGUFArray(elementType: .int32, values: tokenTypes.map { .int32($0) })))
        writer.set("tokenizer.ggml.merges", .array(GGUFArray(elementType: .string, values: merges.map { .string($0) })))
        let ids: [(String, Int32?)] = [
            ("tokenizer.ggml.eos_token_id", specials.endOfText),
            ("tokenizer.ggml.bos_token_id", specials.endOfText),
            ("tokenizer.ggml.padding_token_id", specials.fimPad ?? specials.endOfText),
            ("tokenizer.ggml.fim_pre_token_id", specials.fimPrefix),
            ("tokenizer.ggml.fim_suf_token_id", specials.fimSuffix),
            ("tokenizer.ggml.fim_mid_token_id", specials.fimMiddle),
            ("tokenizer.ggml.fim_pad_token_id", specials.fimPad),
            ("tokenizer.ggml.fim_rep_token_id", specials.repoName),
            ("tokenizer.ggml.fim_sep_token_id", specials.fileSeparator),
        ]
        for (key, id) in ids { if let id { writer.set(key, .uint32(UInt32(id))) } }
        writer.set("tokenizer.ggml.add_bos_token", .bool(false))
        writer.set("tokenizer.ggml.add_eos_token", .bool(false))
        if let teacherTokenIDs, let teacherVocabularySize {
            writer.set(Self.teacherTokenIDsKey, .int32Array(teacherTokenIDs))
            writer.set(Self.teacherVocabularySizeKey, .uint32(UInt32(teacherVocabularySize)))
        }
    }

    /// The tokenizer this vocabulary describes.
    public func makeTokenizer() throws -> BPETokenizer {
        try BPETokenizer(tokens: tokens, merges: merges, tokenTypes: tokenTypes, preTokenizer: preTokenizer, specials: specials)
    }
}
