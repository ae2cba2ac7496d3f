import ArgumentParser
import DefaultModel
import JSONRPC
import LanguageServer
import Logging
import Model
#if canImport(Glibc)
import Glibc
#endif

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the language server on standard input and output.",
        discussion: """
            Speaks LSP over stdio: inline completions, completions and code actions backed by the model. \
            Logs go to the client (window/logMessage) once it has initialized, and only errors to standard \
            error (which editors log as errors); standard output carries only the protocol. Settings from \
            the command line can be overridden by the client's initializationOptions and \
            workspace/didChangeConfiguration (see protocol/README.md).
            """)

    @Option(help: "The GGUF model file (default: the embedded default model).")
    var model: String?

    @Option(help: "A teacher GGUF for \"Complete function body\" and edit with instruction (an instruct model with a chat template, e.g. SmolLM2-135M-Instruct); completions keep --model.")
    var teacher: String?

    @Flag(help: "Do not fall back to the embedded model: without --model or a client's setting, answer empty.")
    var noDefaultModel = false

    @Option(help: "Worker threads for the model (default: all cores).")
    var threads: Int?

    @Option(help: ArgumentHelp("A draft model for speculative decoding: completions and code actions stay the model's own, token for token, sped up by its drafts. It needs the model's vocabulary or one cut from it (a student of it); a mismatch is an error at start. 'none' (the default): no draft model. The client's \"draft\" setting overrides it.", valueName: "file|none"))
    var draft: String?

    @Flag(inversion: .prefixedNo, help: "Also draft by prompt lookup from the open file (default: on with --draft FILE, else off; the client's \"lookup\" setting overrides it).")
    var lookup: Bool?

    @Flag(inversion: .prefixedNo, help: "With --draft FILE: the draft model answers automatic completions at once and the model's own answer for the same cursor follows through the typing cache (default: on; the client's \"tiered\" setting overrides it).")
    var tiered: Bool?

    @Option(help: "Least severe log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    func validate() throws {
        if let threads, !(1...256).contains(threads) {
            throw ValidationError("--threads must be between 1 and 256, not \(threads)")
        }
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical; not \(logLevel)")
        }
    }

    func run() throws {
        var configuration = ServerConfiguration()
        configuration.modelPath = model
        configuration.teacherPath = teacher
        configuration.defaultModelPath = noDefaultModel ? nil : DefaultModel.path
        configuration.threads = threads ?? defaultThreadCount
        configuration.draftPath = draft == "none" ? nil : draft
        configuration.lookup = lookup
        configuration.tiered = tiered
        if let draftPath = configuration.draftPath {
            // A draft model that cannot draft for the model is an error now, not an empty editor later.
            guard let modelPath = configuration.resolvedModelPath else {
                throw CLIError("--draft needs a model to draft for: give --model")
            }
            do {
                _ = try DraftVocabulary(draft: LlamaModel(path: draftPath), teacher: LlamaModel(path: modelPath))
            } catch {
                throw CLIError("--draft \(draftPath): \(error)")
            }
        }
        let server = LanguageServer(configuration: configuration, logLevel: Logger.Level(rawValue: logLevel)!) { code in
            Glibc.exit(code)
        }
        let connection = JSONRPCConnection(input: STDIN_FILENO, output: STDOUT_FILENO)
        connection.start(handler: server)
        // The server exits the process itself on `exit` or at the end of input (with the spec's code).
        connection.waitUntilClosed()
        Glibc.exit(1)
    }
}
