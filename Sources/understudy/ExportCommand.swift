import ArgumentParser
import Kernels
import Model
import Training

/// `understudy export`: a training checkpoint as a GGUF model, while its run goes on.
struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write the model a training checkpoint holds (train/distill --out DIR/checkpoint.bin) as a GGUF file.",
        discussion: "The run is not touched: use it to try a model before its run ends (complete, eval, serve --draft).")

    @Argument(help: "The checkpoint (DIR/checkpoint.bin of a train or distill run).")
    var checkpoint: String

    @Option(help: "The GGUF file whose tokenizer the run trained with (its --tokenizer).")
    var tokenizer: String

    @Option(name: .shortAndLong, help: "The GGUF file to write.")
    var output: String

    @Option(help: "The matrix type: f32, f16, q8_0 or q4_0.")
    var type: GGMLType = .f32

    func run() throws {
        let vocabulary: TokenizerMetadata
        do { vocabulary = try TokenizerMetadata(gguf: GGUFFile(path: tokenizer)) } catch { throw CLIError("cannot read the tokenizer \(tokenizer): \(error)") }
        do {
            try Trainer.exportCheckpoint(checkpoint, to: output, tokenizer: vocabulary, name: "understudy-checkpoint", matrixType: type)
        } catch {
            throw CLIError("\(checkpoint): \(error)")
        }
        printError("wrote \(output) (\(type))")
    }
}
