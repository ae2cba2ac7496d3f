import ArgumentParser
import Foundation
import Model

struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a model file's architecture, sizes, tensor types, tokenizer and special tokens.")

    @Argument(help: "The GGUF model file (default: the embedded default model).")
    var model: String?

    @Flag(help: "Also list every metadata key and tensor.")
    var verbose = false

    func run() throws {
        let path = try resolvedModelPath(model)
        let file: GGUFFile
        do { file = try GGUFFile(path: path) } catch { throw CLIError("cannot read \(path): \(error)") }
        if verbose { print(file.summary()) }
        let model: LlamaModel
        do { model = try LlamaModel(file: file, path: path) } catch { throw CLIError("\(path): \(error)") }
        let c = model.config
        var typeCounts: [String: Int] = [:]
        for t in file.tensors { typeCounts[t.type.description, default: 0] += 1 }
        let t = model.tokenizer
        func special(_ id: Int32?) -> String {
            guard let id else { return "none" }
            return "\(id) \(String(decoding: t.tokenBytes(id), as: UTF8.self).debugDescription)"
        }
        print("""
            model         \(model.name)
            file          \(path) (\(formatBytes(file.fileSize)), GGUF v\(file.version))
            architecture  \(c.architecture.rawValue)\(c.architecture.hasQKVBias ? " (Q/K/V biases)" : "")
            parameters    \(formatCount(model.parameterCount))\(model.weights.tiedOutput ? " (output tied to embedding)" : "")
            shape         \(c)
            head dim      \(c.headDim), RoPE base \(c.ropeTheta), RMS eps \(c.normEpsilon)
            tensors       \(file.tensors.count): \(typeCounts.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", "))
            weights       mostly \(model.weightTypeLabel)
            tokenizer     byte-level BPE, \(t.vocabularySize) tokens, pre-tokenizer '\(t.preTokenizer)'
            end of text   \(special(t.specials.endOfText))
            FIM prefix    \(special(t.specials.fimPrefix))
            FIM suffix    \(special(t.specials.fimSuffix))
            FIM middle    \(special(t.specials.fimMiddle))
            FIM pad       \(special(t.specials.fimPad))
            repo name     \(special(t.specials.repoName))
            file sep      \(special(t.specials.fileSeparator))
            file name     \(special(t.specials.fileName))
            prompts       \(PromptStyle(tokenizer: t))
            """)
    }
}

func formatBytes(_ n: Int) -> String {
    if n >= 1 << 20 { return String(format: "%.2f MiB", Double(n) / Double(1 << 20)) }
    if n >= 1 << 10 { return String(format: "%.1f KiB", Double(n) / 1024) }
    return "\(n) B"
}

func formatCount(_ n: Int) -> String {
    if n >= 1_000_000 { return String(format: "%.2f M", Double(n) / 1e6) }
    if n >= 1_000 { return String(format: "%.1f K", Double(n) / 1e3) }
    return "\(n)"
}
