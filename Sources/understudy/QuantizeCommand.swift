import ArgumentParser
import Kernels
import Model

extension GGMLType: ExpressibleByArgument {
    public init?(argument: String) {
        switch argument.lowercased() {
        case "f32": self = .f32
        case "f16": self = .f16
        case "q8_0": self = .q8_0
        case "q4_0": self = .q4_0
        default: return nil
        }
    }
    public static var allValueStrings: [String] { ["f32", "f16", "q8_0", "q4_0"] }
}

struct Quantize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Convert a model's weight matrices to another type (F32/F16 → Q8_0/Q4_0, or back).",
        discussion: "Norm vectors stay F32; metadata and the tokenizer are copied unchanged.")

    @Argument(help: "The input GGUF model.")
    var input: String

    @Argument(help: "The output GGUF file.")
    var output: String

    @Option(help: "The matrix type: f32, f16, q8_0 or q4_0.")
    var type: GGMLType

    func run() throws {
        let file: GGUFFile
        do { file = try GGUFFile(path: input) } catch { throw CLIError("cannot read \(input): \(error)") }
        // Loading as a model first checks every tensor's shape and type before anything is written.
        do { _ = try LlamaModel(file: file, path: input) } catch { throw CLIError("\(input): \(error)") }
        var writer = GGUFWriter(alignment: file.alignment)
        for (key, value) in file.metadata { writer.set(key, value) }
        writer.set("general.file_type", .uint32(LlamaFileWriter.fileType(type)))
        for info in file.tensors {
            let target = LlamaFileWriter.storageType(dimensions: info.dimensions, matrixType: type)
            let data = file.data(for: info)
            if target == info.type {
                try writer.addTensor(name: info.name, type: target, dimensions: info.dimensions, data: Array(data))
                continue
            }
            let floats = [Float](unsafeUninitializedCapacity: info.elementCount) { buffer, initialized in
                Quantization.dequantize(info.type, data.baseAddress!, count: info.elementCount, into: buffer.baseAddress!)
                initialized = info.elementCount
            }
            try writer.addTensor(name: info.name, type: target, dimensions: info.dimensions,
                                 data: LlamaFileWriter.encode(floats, as: target, rowLength: info.dimensions[0]))
        }
        do { try writer.write(to: output) } catch { throw CLIError("cannot write \(output): \(error)") }
        printError("wrote \(output) (\(type))")
    }
}

struct InitModel: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init-model",
        abstract: "Write a llama model with random weights (a training starting point, or a test/benchmark model).")

    @Option(help: "A GGUF file whose tokenizer the model uses (e.g. one written by `understudy tokenizer train`).")
    var tokenizer: String

    @Option(help: "Embedding width.") var dim = 288
    @Option(help: "Feed-forward width.") var hidden = 768
    @Option(help: "Transformer blocks.") var layers = 6
    @Option(help: "Attention heads.") var heads = 6
    @Option(help: "Key/value heads (default: --heads).") var kvHeads: Int?
    @Option(help: "Context length.") var context = 2048
    @Option(help: "Weight matrix type: f32, f16, q8_0 or q4_0.") var type: GGMLType = .f32
    @Option(help: "Standard deviation of the random matrices.") var scale: Float = 0.02
    @Option(help: "Random seed.") var seed: UInt64 = 1
    @Flag(help: "Share the token embedding with the output matrix.") var tiedOutput = false
    @Option(name: .shortAndLong, help: "The GGUF file to write.") var output: String

    func run() throws {
        let vocabulary: TokenizerMetadata
        do { vocabulary = try TokenizerMetadata(gguf: GGUFFile(path: tokenizer)) } catch {
            throw CLIError("cannot read a tokenizer from \(tokenizer): \(error)")
        }
        let config = LlamaConfig(vocabularySize: vocabulary.tokens.count, dim: dim, hiddenDim: hidden, layers: layers,
                                 heads: heads, kvHeads: kvHeads, contextLength: context)
        do { try config.validate() } catch { throw CLIError("\(error)") }
        let weights = RandomLlamaWeights(config: config, seed: seed, scale: scale)
        try LlamaFileWriter.write(config: config, tokenizer: vocabulary, tiedOutput: tiedOutput, matrixType: type,
                                  name: "random-llama-\(dim)x\(layers)", tensor: weights.tensor, to: output)
        printError("wrote \(output): \(formatCount(config.parameterCount(tiedOutput: tiedOutput))) parameters, \(type)")
    }
}
