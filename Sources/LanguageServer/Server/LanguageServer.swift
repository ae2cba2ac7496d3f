import JSONRPC
import Logging
import Synchronization

/// The language server: lifecycle, documents and dispatch to the completion and code-action handlers.
///
/// Messages arrive on the connection's reader thread, one at a time; document changes are applied
/// there, in order, so every request sees the text as of its arrival. Model work runs on the
/// `ModelWorker`; its answers are sent from the worker's thread (the connection's writes are locked).
public final class LanguageServer: JSONRPCMessageHandler {
    /// Where the server is in the LSP lifecycle.
    public enum Phase: Sendable, Equatable {
        case uninitialized, running, shuttingDown, exited
    }

    struct State {
        var phase = Phase.uninitialized
        var encoding = PositionEncoding.utf16
        var capabilities = ClientCapabilities()
        var configuration: ServerConfiguration
        var documents = DocumentStore()
        var trace = TraceValue.off
        /// Requests that are still running, for `$/cancelRequest`.
        var pending: [RequestID: CancellationFlag] = [:]
        /// Completion work queued or running per document, which the next request supersedes.
        var completionWork: [DocumentURI: [CompletionWork]] = [:]
        /// Running code actions by progress token, for `window/workDoneProgress/cancel`.
        var progress: [ProgressToken: CancellationFlag] = [:]
        var nextProgressToken = 1
        var typingCache = TypingCache()
        /// The "no model" explanation is shown once per server, not on every keystroke.
        var explainedMissingModel = false
    }

    let state: Mutex<State>
    let worker = ModelWorker()
    let sink: LogSink
    let logger: Logger
    private let onExit: @Sendable (Int32) -> Void

    /// A server with `configuration` (from the command line); `onExit` receives the exit code
    /// (0 after `shutdown`, 1 otherwise) when `exit` arrives or the input ends.
    public init(configuration: ServerConfiguration, logLevel: Logger.Level = .info, sink: LogSink = LogSink(),
                onExit: @escaping @Sendable (Int32) -> Void) {
        state = Mutex(State(configuration: configuration))
        self.sink = sink
        logger = Logger(label: "understudy") { label in ClientLogHandler(label: label, sink: sink, level: logLevel) }
        self.onExit = onExit
    }

    /// The lifecycle phase (for tests and the serve command).
    public var phase: Phase { state.withLock { $0.phase } }

    // MARK: - JSONRPCMessageHandler

    public func handle(_ message: JSONRPCMessage, on connection: JSONRPCConnection) {
        switch message {
        case .request(let id, let method, let params):
            handleRequest(id: id, method: method, params: params, connection: connection)
        case .notification(let method, let params):
            handleNotification(method: method, params: params, connection: connection)
        case .response(let id, _):
            logger.debug("ignoring a response to unknown request \(id)")
        case .error(let id, let error):
            logger.warning("client sent an error for \(id.map(\.description) ?? "no request"): \(error.message)")
        }
    }

    public func connectionClosed(_ connection: JSONRPCConnection) {
        let phase = state.withLock { state in
            defer { state.phase = .exited }
            return state.phase
        }
        guard phase != .exited else { return }
        logger.info("input closed without exit; stopping")
        onExit(phase == .shuttingDown ? 0 : 1)
    }

    // MARK: - Requests

    private func handleRequest(id: RequestID, method: String, params: JSONValue?, connection: JSONRPCConnection) {
        let phase = self.phase
        if phase != .uninitialized { sink.attach(connection) }
        switch (phase, method) {
        case (.uninitialized, InitializeRequest.method):
            RequestHandler(InitializeRequest.self) { server, params, responder throws(ResponseError) in
                responder.reply(server.initialize(params, connection: connection))
            }.run(self, id, params, connection)
            return
        case (.uninitialized, _):
            connection.sendError(to: id, .serverNotInitialized)
            return
        case (.shuttingDown, _), (.exited, _):
            connection.sendError(to: id, .invalidRequest("\(method): the server is shutting down; only exit is accepted"))
            return
        case (.running, _):
            break
        }
        let started = ContinuousClock.now
        let trace = state.withLock { $0.trace }
        switch method {
        case InitializeRequest.method:
            connection.sendError(to: id, .invalidRequest("initialize was already received"))
        case "shutdown":
            // Running requests are cancelled and answered before the shutdown reply, so none is left open.
            state.withLock { state in
                state.phase = .shuttingDown
                for flag in state.pending.values { flag.cancel(.client) }
            }
            worker.drain()
            connection.sendResponse(to: id, result: .null)
        default:
            if let handler = Self.handlers[method] {
                handler.run(self, id, params, connection)
            } else {
                connection.sendError(to: id, .methodNotFound(method))
            }
        }
        if trace != .off {
            let elapsed = ContinuousClock.now - started
            traceMessage("received request '\(method) - (\(id))', dispatched in \(elapsed)", connection: connection)
        }
    }

    /// The feature requests by method; lifecycle requests are handled by phase above.
    private static let handlers: [String: RequestHandler] = [
        InlineCompletionRequest.method: RequestHandler(InlineCompletionRequest.self) { server, params, responder throws(ResponseError) in
            try server.inlineCompletion(params, responder)
        },
        CompletionRequest.method: RequestHandler(CompletionRequest.self) { server, params, responder throws(ResponseError) in
            try server.completion(params, responder)
        },
        CodeActionRequest.method: RequestHandler(CodeActionRequest.self) { server, params, responder throws(ResponseError) in
            try server.codeActions(params, responder)
        },
        CodeActionResolveRequest.method: RequestHandler(CodeActionResolveRequest.self) { server, params, responder throws(ResponseError) in
            try server.resolveCodeAction(params, responder)
        },
        ExecuteCommandRequest.method: RequestHandler(ExecuteCommandRequest.self) { server, params, responder throws(ResponseError) in
            try server.executeCommand(params, responder)
        },
    ]

    private func initialize(_ params: InitializeParams, connection: JSONRPCConnection) -> InitializeResult {
        let offered = params.capabilities.general?.positionEncodings ?? []
        let encoding: PositionEncoding = offered.contains(PositionEncoding.utf8.rawValue) ? .utf8 : .utf16
        var problems: [ServerConfiguration.Problem] = []
        let configuration = state.withLock { state in
            state.phase = .running
            state.encoding = encoding
            state.capabilities = params.capabilities
            state.trace = params.trace ?? .off
            if let options = params.initializationOptions { problems = state.configuration.apply(options) }
            return state.configuration
        }
        sink.attach(connection)
        for problem in problems { logger.warning("initializationOptions: \(problem)") }
        logger.info("initialized for \(params.clientInfo?.name ?? "an unnamed client"); positions in \(encoding.rawValue)")
        preloadModel(configuration, connection: connection)
        // The instruct command is offered only for a model with a chat template (read from its header).
        let instruct = Self.instructCapability(configuration)
        if let reason = instruct.reason { logger.info("\(InstructArguments.command) is not offered: \(reason)") }
        return InitializeResult(
            capabilities: ServerCapabilities(
                positionEncoding: encoding,
                textDocumentSync: .init(openClose: true, change: .incremental, save: .init(includeText: false)),
                completionProvider: .init(triggerCharacters: nil, resolveProvider: false),
                inlineCompletionProvider: true,
                codeActionProvider: .init(codeActionKinds: [CodeActionKind.rewrite], resolveProvider: true),
                executeCommandProvider: .init(commands: [ModelAction.applyCommand] + (instruct.available ? [InstructArguments.command] : [])),
                experimental: ExperimentalCapabilities(instruct: instruct)),
            serverInfo: ProcessInfo(name: "understudy", version: "0.1.0"))
    }

    /// Starts loading the model in the background so the first completion does not pay for it.
    func preloadModel(_ configuration: ServerConfiguration, connection: JSONRPCConnection) {
        guard configuration.enabled else { return }
        worker.preload(configuration: configuration) { [self] problem in
            explainMissingModel(problem, connection: connection)
        }
    }

    /// Tells the user once, by `window/showMessage`, why completions are empty.
    func explainMissingModel(_ problem: ModelUnavailable, connection: JSONRPCConnection) {
        let first = state.withLock { state in
            defer { state.explainedMissingModel = true }
            return !state.explainedMissingModel
        }
        guard first else { return }
        logger.warning("\(problem)")
        let params = ShowMessageParams(type: .warning, message: "Understudy: \(problem)")
        if let value = try? encode(params) { connection.sendNotification("window/showMessage", params: value) }
    }

    // MARK: - Notifications

    private func handleNotification(method: String, params: JSONValue?, connection: JSONRPCConnection) {
        let phase = self.phase
        if method == "exit" {
            guard phase != .exited else { return }
            state.withLock { $0.phase = .exited }
            worker.drain()
            onExit(phase == .shuttingDown ? 0 : 1)
            return
        }
        // Before initialize and after shutdown, notifications other than exit are dropped (spec).
        guard phase == .running else { return }
        do {
            switch method {
            case "initialized":
                break
            case "$/cancelRequest":
                let params = try decode(CancelParams.self, params)
                state.withLock { $0.pending[params.id] }?.cancel(.client)
            case "$/setTrace":
                let params = try decode(SetTraceParams.self, params)
                state.withLock { $0.trace = params.value }
            case "window/workDoneProgress/cancel":
                let params = try decode(WorkDoneProgressCreateParams.self, params)
                state.withLock { $0.progress[params.token] }?.cancel(.client)
            case "workspace/didChangeConfiguration":
                let params = try decode(DidChangeConfigurationParams.self, params)
                changeConfiguration(params.settings ?? .null, connection: connection)
            case "textDocument/didOpen", "textDocument/didChange", "textDocument/didClose", "textDocument/didSave":
                try documentNotification(method, params)
            default:
                if !method.hasPrefix("$/") { logger.debug("ignoring notification \(method)") }
            }
        } catch {
            logger.warning("\(method): \(error)")
        }
    }

    private func changeConfiguration(_ settings: JSONValue, connection: JSONRPCConnection) {
        let (problems, configuration, changed) = state.withLock { state in
            let before = state.configuration
            let problems = state.configuration.apply(settings)
            if state.configuration != before {
                state.typingCache.removeAll()
                state.stopCompletionWork()
            }
            if state.configuration.resolvedModelPath != before.resolvedModelPath { state.explainedMissingModel = false }
            return (problems, state.configuration, state.configuration != before)
        }
        for problem in problems { logger.warning("workspace/didChangeConfiguration: \(problem)") }
        if changed {
            logger.info("configuration changed")
            preloadModel(configuration, connection: connection)
        }
    }

    private func documentNotification(_ method: String, _ params: JSONValue?) throws {
        switch method {
        case "textDocument/didOpen":
            let params = try decode(DidOpenTextDocumentParams.self, params)
            if let note = state.withLock({ $0.documents.open(params.textDocument) }) { logger.info("\(note)") }
        case "textDocument/didChange":
            let params = try decode(DidChangeTextDocumentParams.self, params)
            try state.withLock { state throws(DocumentError) in
                try state.documents.change(params, encoding: state.encoding)
            }
        case "textDocument/didClose":
            let params = try decode(DidCloseTextDocumentParams.self, params)
            try state.withLock { state throws(DocumentError) in
                try state.documents.close(params.textDocument.uri)
                state.typingCache.remove(uri: params.textDocument.uri)
                state.stopCompletionWork(uri: params.textDocument.uri)
            }
        default:
            let params = try decode(DidSaveTextDocumentParams.self, params)
            try state.withLock { state throws(DocumentError) in
                try state.documents.save(params.textDocument.uri, text: params.text)
            }
        }
    }

    // MARK: - Helpers

    func traceMessage(_ message: String, connection: JSONRPCConnection) {
        if let value = try? encode(LogTraceParams(message: message, verbose: nil)) {
            connection.sendNotification("$/logTrace", params: value)
        }
    }

    func decode<T: Decodable>(_ type: T.Type, _ params: JSONValue?) throws(ResponseError) -> T {
        try decodeParams(type, params)
    }

    func encode<T: Encodable>(_ value: T) throws(ResponseError) -> JSONValue {
        do {
            return try JSONValueEncoder().encode(value)
        } catch {
            throw .internalError("cannot encode the result: \(error)")
        }
    }
}
