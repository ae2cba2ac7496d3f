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

    @OptionGroup(title: "Speculative decoding") var draftOptions: ServerDraftOptions

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
        try draftOptions.apply(to: &configuration)
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
