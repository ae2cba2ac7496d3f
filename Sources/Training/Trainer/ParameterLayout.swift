import Model

/// Where each GGUF-named tensor lives inside one flat float buffer (parameters, gradients and both
/// AdamW moments share this layout).
public struct ParameterLayout: Sendable, Equatable {
    /// One tensor: its GGUF name, ne0-first dimensions and offset in floats.
    public struct Entry: Sendable, Equatable {
        public let name: String
        public let dimensions: [Int]
        public let offset: Int
        public var count: Int { dimensions.reduce(1, *) }
        /// Matrices get weight decay; norm vectors do not.
        public var isMatrix: Bool { dimensions.count == 2 }
    }

    /// Offsets of one transformer block's tensors.
    public struct Block: Sendable, Equatable {
        public let attentionNorm, query, key, value, attentionOutput, ffnNorm, gate, up, down: Int
    }

    public let config: LlamaConfig
    public let tiedOutput: Bool
    /// The tensors in GGUF order.
    public let entries: [Entry]
    public let totalCount: Int
    public let tokenEmbedding: Int
    public let blocks: [Block]
    public let outputNorm: Int
    /// `output.weight`, or the token embedding's offset when tied.
    public let output: Int

    /// The layout of `llamaTensorLayout(config, tiedOutput:)`, packed in that order.
    public init(config: LlamaConfig, tiedOutput: Bool) {
        self.config = config
        self.tiedOutput = tiedOutput
        var entries: [Entry] = []
        var offset = 0
        for (name, dimensions) in llamaTensorLayout(config, tiedOutput: tiedOutput) {
            entries.append(Entry(name: name, dimensions: dimensions, offset: offset))
            offset += dimensions.reduce(1, *)
        }
        self.entries = entries
        totalCount = offset
        let byName = Dictionary(uniqueKeysWithValues: entries.map { ($0.name, $0.offset) })
        tokenEmbedding = byName["token_embd.weight"]!
        blocks = (0..<config.layers).map { i in
            let p = "blk.\(i)."
            return Block(attentionNorm: byName[p + "attn_norm.weight"]!, query: byName[p + "attn_q.weight"]!,
                         key: byName[p + "attn_k.weight"]!, value: byName[p + "attn_v.weight"]!,
                         attentionOutput: byName[p + "attn_output.weight"]!, ffnNorm: byName[p + "ffn_norm.weight"]!,
                         gate: byName[p + "ffn_gate.weight"]!, up: byName[p + "ffn_up.weight"]!,
                         down: byName[p + "ffn_down.weight"]!)
        }
        outputNorm = byName["output_norm.weight"]!
        output = tiedOutput ? tokenEmbedding : byName["output.weight"]!
    }

    /// The entry named `name`, if the layout has it.
    public func entry(_ name: String) -> Entry? { entries.first { $0.name == name } }
}
