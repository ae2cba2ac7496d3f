import Kernels

/// The tensors of one transformer block.
public struct LlamaLayerWeights: @unchecked Sendable {
    public let attentionNorm: [Float]
    public let query, key, value, attentionOutput: WeightMatrix
    /// Biases of the Q, K and V projections (qwen2); nil for llama.
    public let queryBias, keyBias, valueBias: [Float]?
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
    /// Copies of matrices whose rows were reordered at load (qwen2's Q and K); the mapped file keeps the rest.
    private let ownedRows: [RowBuffer]

    /// Matrix types the kernels compute with (what Q4_K_M, Q5_K_M, Q6_K and Q4_1 files hold included).
    public static let supportedTypes: [GGMLType] = GGMLType.computeTypes

    /// Looks up and checks every tensor llama.cpp's `llama` architecture names.
    public init(gguf file: GGUFFile, config c: LlamaConfig) throws(ModelError) {
        /// `packed`: with the copy the products read (`packedForProducts`), the file's pages then released; off
        /// for a matrix whose rows are reordered first (the copy is made from the reordered rows).
        func matrix(_ name: String, rows: Int, cols: Int, packed: Bool = true) throws(ModelError) -> WeightMatrix {
            guard let info = file.tensor(named: name) else { throw .missingTensor(name) }
            guard info.dimensions == [cols, rows] else {
                throw .tensorShape(name: name, expected: [cols, rows], found: info.dimensions)
            }
            guard Self.supportedTypes.contains(info.type) else {
                throw .tensorType(name: name, found: info.type, allowed: Self.supportedTypes)
            }
            // Checked: a row that is not a whole number of blocks, or data shorter than the shape needs,
            // is a clear error here rather than a read past the mapping later.
            do {
                let m = try WeightMatrix(type: info.type, rows: rows, cols: cols, bytes: file.data(for: info))
                guard packed else { return m }
                let product = m.packedForProducts()
                // Every product, and a token embedding's lookups (`dequantizeRow`), read the packed copy now.
                if product.packed != nil { file.releasePages(of: info) }
                return product
            } catch {
                throw .tensorData(name: name, reason: "\(error)")
            }
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
            var values = [Float](repeating: 0, count: count)
            do {
                try values.withUnsafeMutableBufferPointer { buffer in
                    try Quantization.dequantize(info.type, data, count: count, into: buffer)
                }
            } catch {
                throw .tensorData(name: name, reason: "\(error)")
            }
            return values
        }

        // qwen2's RoPE rotates element i of a head with element i + headDim/2. Reordering the rows of Q
        // and K (and their biases) so those pairs sit side by side lets the one llama RoPE kernel serve
        // both: attention only sees q·k, which the same permutation of both leaves unchanged (this is
        // the permutation llama.cpp's converter applies to llama checkpoints).
        var owned: [RowBuffer] = []
        let order = c.architecture.rotatesHalves ? Self.pairAdjacentOrder(headDim: c.headDim) : nil
        func rotated(_ name: String, rows: Int) throws(ModelError) -> WeightMatrix {
            let m = try matrix(name, rows: rows, cols: c.dim, packed: order == nil)
            guard let order else { return m }
            let buffer = RowBuffer(m, headOrder: order)
            owned.append(buffer)
            return WeightMatrix(type: m.type, rows: rows, cols: m.cols, data: UnsafeRawPointer(buffer.bytes)).packedForProducts()
        }
        func bias(_ name: String, count: Int, reordered: Bool) throws(ModelError) -> [Float]? {
            guard c.architecture.hasQKVBias else { return nil }
            let values = try vector(name, count: count)
            guard reordered, let order else { return values }
            return Self.permuteHeads(values, order: order)
        }

        tokenEmbedding = try matrix("token_embd.weight", rows: c.vocabularySize, cols: c.dim)
        var layers: [LlamaLayerWeights] = []
        for i in 0..<c.layers {
            let p = "blk.\(i)."
            layers.append(LlamaLayerWeights(
                attentionNorm: try vector(p + "attn_norm.weight", count: c.dim),
                query: try rotated(p + "attn_q.weight", rows: c.dim),
                key: try rotated(p + "attn_k.weight", rows: c.kvDim),
                value: try matrix(p + "attn_v.weight", rows: c.kvDim, cols: c.dim),
                attentionOutput: try matrix(p + "attn_output.weight", rows: c.dim, cols: c.dim),
                queryBias: try bias(p + "attn_q.bias", count: c.dim, reordered: true),
                keyBias: try bias(p + "attn_k.bias", count: c.kvDim, reordered: true),
                valueBias: try bias(p + "attn_v.bias", count: c.kvDim, reordered: false),
                ffnNorm: try vector(p + "ffn_norm.weight", count: c.dim),
                gate: try matrix(p + "ffn_gate.weight", rows: c.hiddenDim, cols: c.dim),
                up: try matrix(p + "ffn_up.weight", rows: c.hiddenDim, cols: c.dim),
                down: try matrix(p + "ffn_down.weight", rows: c.dim, cols: c.hiddenDim)))
        }
        self.layers = layers
        ownedRows = owned
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

extension LlamaWeights {
    /// For each row of a head in the rotated layout, the row of the file's layout it comes from:
    /// 0, h/2, 1, h/2+1, … so that pair (i, i + h/2) becomes pair (2i, 2i+1).
    static func pairAdjacentOrder(headDim: Int) -> [Int] {
        (0..<headDim).map { $0 % 2 == 0 ? $0 / 2 : headDim / 2 + $0 / 2 }
    }

    /// `values` (whole heads one after another) with each head's elements in `order`.
    static func permuteHeads(_ values: [Float], order: [Int]) -> [Float] {
        values.indices.map { i in values[(i / order.count) * order.count + order[i % order.count]] }
    }
}

/// A matrix's rows copied in another order, whole rows at a time (a quantized row is self-contained).
final class RowBuffer: @unchecked Sendable {
    let bytes: UnsafeMutableRawPointer

    init(_ m: WeightMatrix, headOrder: [Int]) {
        let rowBytes = m.type.rowBytes(m.cols)!
        bytes = .allocate(byteCount: m.rows * rowBytes, alignment: 64)
        for row in 0..<m.rows {
            let head = row / headOrder.count
            let source = head * headOrder.count + headOrder[row % headOrder.count]
            (bytes + row * rowBytes).copyMemory(from: m.data + source * rowBytes, byteCount: rowBytes)
        }
    }

    deinit { bytes.deallocate() }
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
        ]
        if c.architecture.hasQKVBias {
            out += [(p + "attn_q.bias", [c.dim]), (p + "attn_k.bias", [c.kvDim]), (p + "attn_v.bias", [c.kvDim])]
        }
        out += [
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
