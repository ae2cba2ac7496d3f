import Kernels

/// The shape of a llama-architecture model, as llama.cpp names it in GGUF metadata (`llama.*`).
public struct LlamaConfig: Sendable, Equatable, CustomStringConvertible {
    public var vocabularySize: Int
    /// Width of the residual stream (`llama.embedding_length`).
    public var dim: Int
    /// Width of the SwiGLU feed-forward layer (`llama.feed_forward_length`).
    public var hiddenDim: Int
    public var layers: Int
    public var heads: Int
    /// Key/value heads; fewer than `heads` means grouped-query attention.
    public var kvHeads: Int
    /// Longest sequence the model was trained for (`llama.context_length`).
    public var contextLength: Int
    public var ropeTheta: Float
    public var normEpsilon: Float

    public init(vocabularySize: Int, dim: Int, hiddenDim: Int, layers: Int, heads: Int, kvHeads: Int? = nil,
                contextLength: Int = 2048, ropeTheta: Float = 10_000, normEpsilon: Float = 1e-5) {
        self.vocabularySize = vocabularySize
        self.dim = dim
        self.hiddenDim = hiddenDim
        self.layers = layers
        self.heads = heads
        self.kvHeads = kvHeads ?? heads
        self.contextLength = contextLength
        self.ropeTheta = ropeTheta
        self.normEpsilon = normEpsilon
    }

    public var headDim: Int { dim / heads }
    public var kvDim: Int { kvHeads * headDim }

    /// Parameter count, with or without a separate output matrix.
    public func parameterCount(tiedOutput: Bool) -> Int {
        let perLayer = 2 * dim + dim * dim * 2 + dim * kvDim * 2 + 3 * dim * hiddenDim
        return vocabularySize * dim * (tiedOutput ? 1 : 2) + layers * perLayer + dim
    }

    /// Checks the shape makes sense before any buffer is sized from it.
    public func validate() throws(ModelError) {
        func require(_ ok: Bool, _ why: String) throws(ModelError) {
            if !ok { throw ModelError.invalidConfig(why) }
        }
        let limit = 1 << 20
        try require((1...limit).contains(vocabularySize), "vocabulary size \(vocabularySize) is out of range")
        try require((1...limit).contains(dim), "embedding length \(dim) is out of range")
        try require((1...limit).contains(hiddenDim), "feed-forward length \(hiddenDim) is out of range")
        try require((1...4096).contains(layers), "block count \(layers) is out of range")
        try require(heads >= 1 && dim % heads == 0, "embedding length \(dim) is not a multiple of head count \(heads)")
        try require(headDim % 2 == 0, "head dimension \(headDim) must be even for RoPE")
        try require(kvHeads >= 1 && heads % kvHeads == 0, "head count \(heads) is not a multiple of KV head count \(kvHeads)")
        try require((1...limit).contains(contextLength), "context length \(contextLength) is out of range")
        try require(ropeTheta.isFinite && ropeTheta > 0, "rope frequency base \(ropeTheta) must be positive")
        try require(normEpsilon.isFinite && normEpsilon > 0, "RMS norm epsilon \(normEpsilon) must be positive")
    }

    public var description: String {
        "dim \(dim), hidden \(hiddenDim), \(layers) layers, \(heads) heads (\(kvHeads) KV), vocab \(vocabularySize), context \(contextLength)"
    }
}

extension LlamaConfig {
    /// Reads the `llama.*` keys llama.cpp uses.
    public init(gguf file: GGUFFile) throws(ModelError) {
        guard let arch = file["general.architecture"]?.string else { throw .missingMetadata("general.architecture") }
        guard arch == "llama" else { throw .unsupportedArchitecture(arch) }
        func int(_ key: String) throws(ModelError) -> Int {
            guard let v = file[key] else { throw .missingMetadata(key) }
            guard let i = v.int else { throw .badMetadata(key, "expected an integer") }
            return i
        }
        let dim = try int("llama.embedding_length")
        let heads = try int("llama.attention.head_count")
        var vocab = file["llama.vocab_size"]?.int
        if vocab == nil, let tokens = file["tokenizer.ggml.tokens"], case .array(let a) = tokens { vocab = a.values.count }
        guard let vocabularySize = vocab ?? file.tensor(named: "token_embd.weight")?.dimensions.last else {
            throw .missingMetadata("llama.vocab_size")
        }
        self.init(vocabularySize: vocabularySize, dim: dim,
                  hiddenDim: try int("llama.feed_forward_length"),
                  layers: try int("llama.block_count"),
                  heads: heads,
                  kvHeads: file["llama.attention.head_count_kv"]?.int ?? heads,
                  contextLength: try int("llama.context_length"),
                  ropeTheta: file["llama.rope.freq_base"]?.float ?? 10_000,
                  normEpsilon: file["llama.attention.layer_norm_rms_epsilon"]?.float ?? 1e-5)
        try validate()
    }

    /// Writes the `llama.*` keys.
    public func write(to writer: inout GGUFWriter) {
        writer.set("general.architecture", .string("llama"))
        writer.set("llama.vocab_size", .uint32(UInt32(vocabularySize)))
        writer.set("llama.context_length", .uint32(UInt32(contextLength)))
        writer.set("llama.embedding_length", .uint32(UInt32(dim)))
        writer.set("llama.feed_forward_length", .uint32(UInt32(hiddenDim)))
        writer.set("llama.block_count", .uint32(UInt32(layers)))
        writer.set("llama.attention.head_count", .uint32(UInt32(heads)))
        writer.set("llama.attention.head_count_kv", .uint32(UInt32(kvHeads)))
        writer.set("llama.rope.dimension_count", .uint32(UInt32(headDim)))
        writer.set("llama.rope.freq_base", .float32(ropeTheta))
        writer.set("llama.attention.layer_norm_rms_epsilon", .float32(normEpsilon))
    }
}
