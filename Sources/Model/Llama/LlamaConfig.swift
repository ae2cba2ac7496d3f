import Kernels

/// The llama-family architectures we run, by their GGUF `general.architecture` name.
public enum Architecture: String, Sendable, Equatable, CaseIterable {
    /// Llama: RMSNorm, RoPE on adjacent pairs, SwiGLU, no biases.
    case llama
    /// Qwen2 (Qwen2.5-Coder): llama with biases on the Q, K and V projections, and RoPE that pairs
    /// element i with element i + headDim/2 of each head (llama.cpp's NEOX style).
    case qwen2

    /// Whether the Q, K and V projections add a bias (`blk.N.attn_{q,k,v}.bias`).
    public var hasQKVBias: Bool { self == .qwen2 }
    /// Whether RoPE rotates (i, i + headDim/2) pairs rather than (2i, 2i+1).
    public var rotatesHalves: Bool { self == .qwen2 }
}

/// The shape of a llama-family model, as llama.cpp names it in GGUF metadata (`llama.*`, `qwen2.*`).
public struct LlamaConfig: Sendable, Equatable, CustomStringConvertible {
    public var architecture: Architecture = .llama
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

    public init(architecture: Architecture = .llama, vocabularySize: Int, dim: Int, hiddenDim: Int, layers: Int,
                heads: Int, kvHeads: Int? = nil, contextLength: Int = 2048, ropeTheta: Float = 10_000,
                normEpsilon: Float = 1e-5) {
        self.architecture = architecture
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
        let biases = architecture.hasQKVBias ? dim + 2 * kvDim : 0
        let perLayer = 2 * dim + dim * dim * 2 + dim * kvDim * 2 + 3 * dim * hiddenDim + biases
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
        "\(architecture.rawValue): dim \(dim), hidden \(hiddenDim), \(layers) layers, \(heads) heads (\(kvHeads) KV), vocab \(vocabularySize), context \(contextLength)"
    }
}

extension LlamaConfig {
    /// Reads the `<architecture>.*` keys llama.cpp uses.
    public init(gguf file: GGUFFile) throws(ModelError) {
        guard let name = file["general.architecture"]?.string else { throw .missingMetadata("general.architecture") }
        guard let arch = Architecture(rawValue: name) else { throw .unsupportedArchitecture(name) }
        let p = arch.rawValue + "."
        func int(_ key: String) throws(ModelError) -> Int {
            guard let v = file[key] else { throw .missingMetadata(key) }
            guard let i = v.int else { throw .badMetadata(key, "expected an integer") }
            return i
        }
        let dim = try int(p + "embedding_length")
        let heads = try int(p + "attention.head_count")
        var vocab = file[p + "vocab_size"]?.int
        if vocab == nil, let tokens = file["tokenizer.ggml.tokens"], case .array(let a) = tokens { vocab = a.values.count }
        guard let vocabularySize = vocab ?? file.tensor(named: "token_embd.weight")?.dimensions.last else {
            throw .missingMetadata(p + "vocab_size")
        }
        self.init(architecture: arch, vocabularySize: vocabularySize, dim: dim,
                  hiddenDim: try int(p + "feed_forward_length"),
                  layers: try int(p + "block_count"),
                  heads: heads,
                  kvHeads: file[p + "attention.head_count_kv"]?.int ?? heads,
                  contextLength: try int(p + "context_length"),
                  ropeTheta: file[p + "rope.freq_base"]?.float ?? 10_000,
                  normEpsilon: file[p + "attention.layer_norm_rms_epsilon"]?.float ?? 1e-5)
        try validate()
    }

    /// Writes the `<architecture>.*` keys.
    public func write(to writer: inout GGUFWriter) {
        writer.set("general.architecture", .string(architecture.rawValue))
        let p = architecture.rawValue + "."
        writer.set(p + "vocab_size", .uint32(UInt32(vocabularySize)))
        writer.set(p + "context_length", .uint32(UInt32(contextLength)))
        writer.set(p + "embedding_length", .uint32(UInt32(dim)))
        writer.set(p + "feed_forward_length", .uint32(UInt32(hiddenDim)))
        writer.set(p + "block_count", .uint32(UInt32(layers)))
        writer.set(p + "attention.head_count", .uint32(UInt32(heads)))
        writer.set(p + "attention.head_count_kv", .uint32(UInt32(kvHeads)))
        writer.set(p + "rope.dimension_count", .uint32(UInt32(headDim)))
        writer.set(p + "rope.freq_base", .float32(ropeTheta))
        writer.set(p + "attention.layer_norm_rms_epsilon", .float32(normEpsilon))
    }
}
