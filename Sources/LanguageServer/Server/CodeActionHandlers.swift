import JSONRPC
import Model

/// `textDocument/codeAction` (titles at once), then `codeAction/resolve` or, for clients that cannot
/// resolve, `workspace/executeCommand` (the model runs, with progress and cancellation).
extension LanguageServer {
    /// -32803 (LSP RequestFailed): the request was fine but could not produce a result.
    static let requestFailed = ErrorCode(rawValue: -32803)

    func codeActions(_ params: CodeActionParams, _ responder: Responder<CodeActionRequest>) throws(ResponseError) {
        let snapshot = try snapshot(params.textDocument.uri)
        guard snapshot.configuration.enabled, snapshot.configuration.resolvedModelPath != nil else { return responder.reply([]) }
        if let only = params.context.only,
           !only.contains(where: { CodeActionKind.rewrite == $0 || CodeActionKind.rewrite.hasPrefix($0 + ".") }) {
            return responder.reply([])
        }
        let document = snapshot.document
        let selection = document.offsets(of: params.range, encoding: snapshot.encoding)
        let range = document.range(of: selection, encoding: snapshot.encoding)
        // A client that cannot resolve an action's edit gets a command instead, which the server runs
        // and answers with `workspace/applyEdit` (Eglot 1.9 lists actions without edits and does nothing).
        let resolves = state.withLock { $0.capabilities.resolvesCodeActionEdits }
        responder.reply(ModelAction.available(in: document, selection: selection).map { action in
            let data = try? JSONValueEncoder().encode(
                ModelAction.Data(action: action, uri: document.uri, version: document.version, range: range))
            guard resolves else {
                let command = Command(title: action.title, command: ModelAction.applyCommand, arguments: data.map { [$0] })
                return CodeAction(title: action.title, kind: CodeActionKind.rewrite, edit: nil, command: command, data: nil)
            }
            return CodeAction(title: action.title, kind: CodeActionKind.rewrite, edit: nil, command: nil, data: data)
        })
    }

    func resolveCodeAction(_ action: CodeAction, _ responder: Responder<CodeActionResolveRequest>) throws(ResponseError) {
        guard let dataValue = action.data else { throw .invalidParams("params.data: missing; this code action did not come from us") }
        let data = try Self.actionData(dataValue, path: "params.data")
        try runModelAction(data, responder: responder) { edit in
            var resolved = action
            resolved.edit = edit
            return resolved
        }
    }

    /// `workspace/executeCommand` with `understudy.applyCodeAction`: runs the action and sends its edit
    /// to the client with `workspace/applyEdit`, then answers null.
    func executeCommand(_ params: ExecuteCommandParams, _ responder: Responder<ExecuteCommandRequest>) throws(ResponseError) {
        if params.command == InstructArguments.command { return try instruct(params, responder) }
        guard params.command == ModelAction.applyCommand else {
            throw .invalidParams("params.command: unknown command \"\(params.command)\" "
                                 + "(this server runs \(ModelAction.applyCommand) and \(InstructArguments.command))")
        }
        guard let argument = params.arguments?.first else {
            throw .invalidParams("params.arguments: missing; \(ModelAction.applyCommand) takes the action's data")
        }
        let data = try Self.actionData(argument, path: "params.arguments[0]")
        guard state.withLock({ $0.capabilities.workspace?.applyEdit }) == true else {
            throw ResponseError(code: Self.requestFailed, message: "the client does not accept workspace/applyEdit")
        }
        let connection = responder.connection, logger = logger
        try runModelAction(data, responder: responder) { edit in
            let params = try JSONValueEncoder().encode(ApplyWorkspaceEditParams(label: data.action.title, edit: edit))
            connection.sendRequest("workspace/applyEdit", params: params) { answer in
                let applied = (try? answer.get())?["applied"]?.boolValue == true
                if !applied { logger.warning("the client did not apply \"\(data.action.title)\": \(answer)") }
            }
            return .null
        }
    }

    static func actionData(_ value: JSONValue, path: String) throws(ResponseError) -> ModelAction.Data {
        do {
            return try JSONValueDecoder().decode(ModelAction.Data.self, from: value, path: path)
        } catch {
            throw .invalidParams("\(error)")
        }
    }

    /// Checks that `data` still applies to its document, then runs the model for it with progress and
    /// cancellation; `result` turns the edit into the request's answer.
    func runModelAction<Request: RequestType>(_ data: ModelAction.Data, responder: Responder<Request>,
                                              result: @escaping @Sendable (WorkspaceEdit) throws -> Request.Response) throws(ResponseError) {
        let snapshot = try snapshot(data.uri)
        let document = snapshot.document
        guard document.version == data.version else {
            throw ResponseError(code: .contentModified,
                                message: "\(data.uri) changed (version \(data.version) → \(document.version)) since the action was offered")
        }
        let selection = document.offsets(of: data.range, encoding: snapshot.encoding)
        guard let plan = data.action.plan(in: document, selection: selection) else {
            throw .invalidParams("\"\(data.action.title)\" does not apply to the range \(data.range)")
        }
        let configuration = snapshot.configuration
        let (flag, reporter) = registerModelJob(responder, title: data.action.title)
        let input = CompletionInput(uri: document.uri, languageId: document.languageId, prefix: plan.prefix,
                                    suffix: plan.suffix, neighbours: snapshot.neighbours)
        var settings = CompletionSettings(candidates: 1, multiLine: plan.rules.multiLine,
                                          maxNewTokens: min(512, configuration.maxTokens * 4),
                                          temperature: configuration.temperature,
                                          timeBudget: .milliseconds(max(5000, configuration.timeBudgetMs * 10)))
        settings.rules = plan.rules
        let request = settings
        let editRange = document.range(of: plan.replaced, encoding: snapshot.encoding)
        let job = ModelJob(responder: responder, flag: flag, uri: nil, progress: reporter,
                           whenSuperseded: { .failure(.requestCancelled) },
                           whenNoModel: { .failure(ResponseError(code: Self.requestFailed, message: $0.description)) })
        // "Complete function body" runs on the teacher when one is configured (the student otherwise).
        let role: ModelRole = data.action == .completeBody ? .teacher : .completion
        submit(job, configuration: configuration, role: role) { pipeline in
            let outcome = try pipeline.complete(input, settings: request) { progress in
                reporter?.report(done: progress.tokens, total: request.maxNewTokens)
                return flag.isCancelled
            }
            guard let generated = outcome.candidates.first, let text = data.action.finish(generated, plan: plan) else {
                throw ResponseError(code: Self.requestFailed, message: "the model produced no usable text for \"\(data.action.title)\"")
            }
            return try result(WorkspaceEdit(changes: [document.uri: [TextEdit(range: editRange, newText: text)]]))
        }
    }
}
