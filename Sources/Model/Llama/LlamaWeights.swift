import Kernels

/// The tensors of one transformer block.
public struct LlamaLayerWeights: @unchecked Sendable {
    public let attentionNorm: [Float]
    public let query, key, value, attentionOutput: WeightMatrix
    public let ffnNorm: [Float]
    public let gate, up, down: WeightMatrix
}

/// All weights of a llama model, pointing into a mapped GGUF file (norm vectors are copied as floats).
public struct LlamaWeights: @unchecked Sendable {
    public let tokenEmbedding: WeightMatrix
    public let layers: [LlamaLayerWeights]
    public let outputNorm: [Float]
    /// `output.weight`, or the token embedding when the file ties them.
    public let output: WeightMatrix
    public let tiedOutput: Bool

    /// Matrix types the kernels compute with.
    public static let supportedTypes: [GGMLType] = [.f32, .f16, .q8_0, .q4_0]

    /// Looks up and checks every tensor llama.cpp's `llama` architecture names.
    public init(gguf file: GGUFFile, config c: LlamaConfig) throws(ModelError) {
        func matrix(_ name: String, rows: Int, cols: Int) throws(ModelError) -> WeightMatrix {
            guard let info = file.tensor(named: name) else { throw .missingTensor(name) }
            guard info.dimensions == [cols, rows] else {
                throw .tensorShape(name: name, expected: [cols, rows], found: info.dimensions)
            }
            guard Self.supportedTypes.contains(info.type) else {
                throw .tensorType(name: name, found: info.type, allowed: Self.supportedTypes)
            }
            return WeightMatrix(type: info.type, rows: rows, cols: cols, data: file.data(for: info).baseAddress!)
        }
        func vector(_ name: String, count: Int) throws(ModelError) -> [Float] {
            guard let info = file.tensor(named: name) else { throw .missingTensor(name) }
            guard info.dimensions == [count] else {
                throw .tensorShape(name: name, expected: [count], found: info.dimensions)
            }
            guard Self.supportedTypes.contains(info.type) else {
                throw .tensorType(name: name, found: info.type, allowed: Self.supportedTypes)
            }
            let data = file.data(for: info)
            return [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
                Quantization.dequantize(info.type, data.baseAddress!, count: count, into: buffer.baseAddress!)
                initialized = count
            }
        }

        tokenEmbedding = try matrix("token_embd.weight", rows: c.vocabularySize, cols: c.dim)
        var layers: [LlamaLayerWeights] = []
        for i in 0..<c.layers {
            let p = "blk.\(i)."
            layers.append(LlamaLayerWeights(
                attentionNorm: try vector(p + "attn_norm.weight", count: c.dim),
                query: try matrix(p + "attn_q.weight", rows: c.dim, cols: c.dim),
                key: try matrix(p + "attn_k.weight", rows: c.kvDim, cols: c.dim),
                value: try matrix(p + "attn_v.weight", rows: c.kvDim, cols: c.dim),
                attentionOutput: try matrix(p + "attn_output.weight", rows: c.dim, cols: c.dim),
                ffnNorm: try vector(p + "ffn_norm.weight", count: c.dim),
                gate: try matrix(p + "ffn_gate.weight", rows: c.hiddenDim, cols: c.dim),
                up: try matrix(p + "ffn_up.weight", rows: c.hiddenDim, cols: c.dim),
                down: try matrix(p + "ffn_down.weight", rows: c.dim, cols: c.hiddenDim)))
        }
        self.layers = layers
        outputNorm = try vector("output_norm.weight", count: c.dim)
        if file.tensor(named: "output.weight") != nil {
            output = try matrix("output.weight", rows: c.vocabularySize, cols: c.dim)
            tiedOutput = false
        } else {
            output = tokenEmbedding
            tiedOutput = true
        }
    }
}

/// Tensor names and shapes (ne0 first) of a llama model, in the order llama.cpp writes them.
public func llamaTensorLayout(_ c: LlamaConfig, tiedOutput: Bool) -> [(name: String, dimensions: [Int])] {
    var out: [(String, [Int])] = [("token_embd.weight", [c.dim, c.vocabularySize])]
    for i in 0..<c.layers {
        let p = "blk.\(i)."
        out += [
            (p + "attn_norm.weight", [c.dim]),
            (p + "attn_q.weight", [c.dim, c.dim]),
            (p + "attn_k.weight", [c.dim, c.kvDim]),
            (p + "attn_v.weight", [c.dim, c.kvDim]),
            (p + "attn_output.weight", [c.dim, c.dim]),
            (p + "ffn_norm.weight", [c.dim]),
            (p + "ffn_gate.weight", [c.dim, c.hiddenDim]),
            (p + "ffn_up.weight", [c.dim, c.hiddenDim]),
            (p + "ffn_down.weight", [c.hiddenDim, c.dim]),
        ]
    }
    out.append(("output_norm.weight", [c.dim]))
    if !tiedOutput { out.append(("output.weight", [c.dim, c.vocabularySize])) }
    return out
}
