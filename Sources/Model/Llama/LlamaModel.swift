import Kernels

/// A llama model loaded from a GGUF file: its shape, weights (mapped, not copied) and tokenizer.
public final class LlamaModel: @unchecked Sendable {
    // Immutable after init; the weights point into `file`, which stays mapped while the model lives.
    public let file: GGUFFile
    public let config: LlamaConfig
    public let weights: LlamaWeights
    public let tokenizer: BPETokenizer
    public let path: String?

    /// Opens and checks a GGUF model file.
    public convenience init(path: String) throws {
        try self.init(file: GGUFFile(path: path), path: path)
    }

    /// Uses an already opened GGUF file.
    public init(file: GGUFFile, path: String? = nil) throws {
        self.file = file
        self.path = path
        config = try LlamaConfig(gguf: file)
        weights = try LlamaWeights(gguf: file, config: config)
        tokenizer = try BPETokenizer(gguf: file)
        guard tokenizer.vocabularySize == config.vocabularySize else {
            throw ModelError.tokenizer("\(tokenizer.vocabularySize) tokens but the model's vocabulary has \(config.vocabularySize)")
        }
    }

    /// Parameters in the weight tensors.
    public var parameterCount: Int { config.parameterCount(tiedOutput: weights.tiedOutput) }

    /// The model's name from `general.name`, or the file name.
    public var name: String {
        file["general.name"]?.string ?? path.map { String($0.split(separator: "/").last ?? "") } ?? "model"
    }

    /// The most common matrix type, as a file type label like llama.cpp's ("Q8_0").
    public var weightTypeLabel: String {
        // The file's own label where it has one (llama.cpp's `general.file_type`): a Q4_K_M file holds
        // more Q5_0/Q6_K bytes than its name suggests, and llama-bench prints the label.
        let fileType: Int?
        switch file["general.file_type"] {
        case .uint32(let v)?: fileType = Int(v)
        case .int32(let v)?: fileType = Int(v)
        default: fileType = nil
        }
        if let fileType, let name = Self.fileTypeNames[fileType] { return name }
        var counts: [GGMLType: Int] = [:]
        for t in file.tensors where t.dimensions.count == 2 { counts[t.type, default: 0] += t.elementCount }
        return counts.max { $0.value < $1.value }?.key.description ?? "?"
    }

    /// llama.cpp's `llama_ftype` values and the names llama-bench prints for them.
    static let fileTypeNames: [Int: String] = [
        0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1", 10: "Q2_K - Medium",
        11: "Q3_K - Small", 12: "Q3_K - Medium", 13: "Q3_K - Large", 14: "Q4_K - Small", 15: "Q4_K - Medium",
        16: "Q5_K - Small", 17: "Q5_K - Medium", 18: "Q6_K", 32: "BF16",
    ]
}
