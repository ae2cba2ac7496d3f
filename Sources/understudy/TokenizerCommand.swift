import ArgumentParser
import Foundation
import Model

struct TokenizerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenizer",
        abstract: "Train, inspect and use byte-level BPE tokenizers.",
        subcommands: [Encode.self, Decode.self])

    struct Encode: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the token ids of a file's bytes as a JSON array (special-token text is not parsed).")

        @Option(help: "A GGUF file with a tokenizer (a model or a tokenizer-only file).")
        var model: String

        @Option(help: "The file to encode (default: standard input).")
        var file: String?

        func run() throws {
            let tokenizer = try loadTokenizer(model)
            let bytes: [UInt8]
            if let file {
                guard let data = FileManager.default.contents(atPath: file) else { throw CLIError("cannot read \(file)") }
                bytes = [UInt8](data)
            } else {
                bytes = [UInt8](FileHandle.standardInput.readDataToEndOfFile())
            }
            let ids = tokenizer.encode(bytes: bytes)
            print("[" + ids.map(String.init).joined(separator: ",") + "]")
        }
    }

    struct Decode: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write the bytes of token ids given as arguments.")

        @Option(help: "A GGUF file with a tokenizer.")
        var model: String

        @Argument(help: "Token ids.")
        var ids: [Int32]

        func run() throws {
            let tokenizer = try loadTokenizer(model)
            if let bad = ids.first(where: { $0 < 0 || Int($0) >= tokenizer.vocabularySize }) {
                throw CLIError("token id \(bad) is outside the vocabulary (size \(tokenizer.vocabularySize))")
            }
            FileHandle.standardOutput.write(Data(tokenizer.decode(ids)))
        }
    }
}

func loadTokenizer(_ path: String) throws -> BPETokenizer {
    do { return try BPETokenizer(gguf: GGUFFile(path: path)) } catch {
        throw CLIError("cannot read a tokenizer from \(path): \(error)")
    }
}

struct DumpLogits: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dump-logits",
        abstract: "Write the logits after every token of a sequence as raw little-endian float32 rows (for cross-checks).")

    @OptionGroup var modelOptions: ModelOptions

    @Option(help: "A file holding a JSON array of token ids.")
    var tokens: String

    @Option(name: .shortAndLong, help: "The output file: one row of vocabulary-size floats per token.")
    var output: String

    @Flag(help: "Evaluate token by token (the generation path) instead of in one batch.")
    var sequential = false

    func run() throws {
        guard let data = FileManager.default.contents(atPath: tokens),
              let ids = try? JSONDecoder().decode([Int32].self, from: data), !ids.isEmpty else {
            throw CLIError("\(tokens) does not hold a non-empty JSON array of token ids")
        }
        let model = try modelOptions.load()
        let context = InferenceContext(model: model, contextSize: ids.count, threads: modelOptions.threadCount)
        let rows = sequential ? try ids.map { try context.append([$0]) } : try context.appendReturningAllLogits(ids)
        var out = Data(capacity: rows.count * model.config.vocabularySize * 4)
        for row in rows { row.withUnsafeBytes { out.append(contentsOf: $0) } }
        guard FileManager.default.createFile(atPath: output, contents: out) else { throw CLIError("cannot write \(output)") }
    }
}
