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
        var counts: [GGMLType: Int] = [:]
        for t in file.tensors where t.dimensions.count == 2 { counts[t.type, default: 0] += t.elementCount }
        return counts.max { $0.value < $1.value }?.key.description ?? "?"
    }
}
