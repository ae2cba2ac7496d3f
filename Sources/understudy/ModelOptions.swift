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
    if let given { return given }
    switch DefaultModel.location {
    case .success(let path?):
        return path
    case .success(nil):
        throw CLIError("no model given and this build has no embedded default model (the checkout had no "
                       + "Sources/DefaultModel/Resources/\(DefaultModel.fileName)); pass --model, or put "
                       + "\(DefaultModel.fileName) beside the binary")
    case .failure(let error):
        throw CLIError("no model given, and \(error)")
    }
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
