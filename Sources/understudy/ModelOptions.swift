import ArgumentParser
import DefaultModel
import Foundation
import Model
#if canImport(Glibc)
import Glibc
#endif

/// Options shared by every command that runs a model.
struct ModelOptions: ParsableArguments {
    @Option(name: .long, help: "The GGUF model file (default: the embedded default model).")
    var model: String?

    @Option(name: .long, help: "Worker threads (default: all cores).")
    var threads: Int?

    var threadCount: Int { threads ?? defaultThreadCount }

    func validate() throws {
        if let threads, !(1...256).contains(threads) {
            throw ValidationError("--threads must be between 1 and 256, not \(threads)")
        }
    }

    /// Loads the model, turning any failure into a one-line message.
    func load() throws -> LlamaModel {
        let path = try resolvedModelPath(model)
        do {
            return try LlamaModel(path: path)
        } catch {
            throw CLIError("cannot load model \(path): \(error)")
        }
    }
}

/// Online cores, the default thread count.
var defaultThreadCount: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }

/// `--fim-order spm|psm`: parsed and checked by the argument parser (its error lists the two values).
extension FIMOrder: ExpressibleByArgument {}

/// The model file a command runs: the one given, else the embedded default model.
func resolvedModelPath(_ given: String?) throws -> String {
    guard let path = given ?? DefaultModel.path else {
        throw CLIError("no model given and the embedded default model is missing (looked for \(DefaultModel.fileName) "
                       + "beside the binary and in Sources/DefaultModel/Resources)")
    }
    return path
}

/// A failure reported to the user as one line, without a stack trace.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Writes to standard error (standard output is reserved for results).
func printError(_ text: String) {
    var line = text
    if !line.hasSuffix("\n") { line += "\n" }
    FileHandle.standardError.write(Data(line.utf8))
}
