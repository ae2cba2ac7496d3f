import JSONRPC
import Model

/// The arguments of `workspace/executeCommand` `understudy.instruct`: apply a user's sentence
/// ("add error handling") to a selection with the model's chat template.
public struct InstructArguments: Codable, Equatable, Sendable {
    public var uri: DocumentURI
    public var range: LSPRange
    /// The document version the selection was made in; a newer document refuses the edit.
    public var version: Int
    public var instruction: String

    /// The command's name.
    public static let command = "understudy.instruct"
    /// The edit's label in `workspace/applyEdit`.
    public static let title = "Edit with instruction"
    /// The longest instruction accepted, in UTF-8 bytes (a sentence, not a document).
    public static let maxInstructionBytes = 4096
    /// Most tokens the answer may have.
    public static let maxNewTokens = 1024
    /// How long the model may run.
    public static let timeBudget = Duration.seconds(300)
}

/// Whether the served model can follow instructions, for `initialize`'s capabilities.
public struct InstructCapability: Codable, Equatable, Sendable {
    public var available: Bool
    /// The chat template family (`ChatML`, `Qwen2`, `llama-3`) when available.
    public var template: String?
    /// Why not, when unavailable.
    public var reason: String?
}

/// `experimental` in our `ServerCapabilities`.
public struct ExperimentalCapabilities: Codable, Equatable, Sendable {
    public var instruct: InstructCapability
}

extension LanguageServer {
    /// The chat template of the model edits run on (the teacher, else the model), read from its GGUF
    /// header (no weights are loaded), or why there is none.
    static func instructCapability(_ configuration: ServerConfiguration) -> InstructCapability {
        guard configuration.enabled else { return InstructCapability(available: false, template: nil, reason: "Understudy is disabled") }
        guard let path = ModelRole.teacher.path(in: configuration) else {
            return InstructCapability(available: false, template: nil, reason: ModelUnavailable.noModel.description)
        }
        let file: GGUFFile
        do {
            file = try GGUFFile(path: path)
        } catch {
            return InstructCapability(available: false, template: nil, reason: "cannot read the model \(path): \(error)")
        }
        switch ChatTemplate.of(file) {
        case .success(let template): return InstructCapability(available: true, template: template.family.rawValue, reason: nil)
        case .failure(let reason): return InstructCapability(available: false, template: nil, reason: reason.description)
        }
    }

    /// `understudy.instruct`: checks the arguments and the document, runs the model with progress and
    /// cancellation, sends the edit with `workspace/applyEdit`, then answers null.
    func instruct(_ params: ExecuteCommandParams, _ responder: Responder<ExecuteCommandRequest>) throws(ResponseError) {
        let command = InstructArguments.command
        guard let argument = params.arguments?.first else {
            throw .invalidParams("params.arguments: missing; \(command) takes {uri, range, version, instruction}")
        }
        let arguments: InstructArguments
        do {
            arguments = try JSONValueDecoder().decode(InstructArguments.self, from: argument, path: "params.arguments[0]")
        } catch {
            throw .invalidParams("\(error)")
        }
        let instruction = arguments.instruction.trimmingWhitespace()
        guard !instruction.isEmpty else {
            throw .invalidParams("params.arguments[0].instruction: empty; say what to do with the selection (\"add error handling\")")
        }
        guard arguments.instruction.utf8.count <= InstructArguments.maxInstructionBytes else {
            throw .invalidParams("params.arguments[0].instruction: \(arguments.instruction.utf8.count) bytes; "
                                 + "an instruction is at most \(InstructArguments.maxInstructionBytes) bytes")
        }
        let snapshot = try snapshot(arguments.uri)
        let document = snapshot.document
        guard document.version == arguments.version else {
            throw ResponseError(code: .contentModified,
                                message: "\(arguments.uri) changed (version \(arguments.version) → \(document.version)) since the selection was made")
        }
        let selection = try Self.selection(arguments.range, in: document, encoding: snapshot.encoding)
        guard state.withLock({ $0.capabilities.workspace?.applyEdit }) == true else {
            throw ResponseError(code: Self.requestFailed, message: "the client does not accept workspace/applyEdit")
        }
        let configuration = snapshot.configuration
        guard configuration.enabled else { throw ResponseError(code: Self.requestFailed, message: "Understudy is disabled (enabled: false)") }

        let edit = InstructionEdit(instruction: instruction, languageId: document.languageId,
                                   fileName: String(document.uri.split(separator: "/").last ?? Substring(document.uri)),
                                   before: Array(document.bytes[..<selection.lowerBound]),
                                   selection: Array(document.bytes[selection]),
                                   after: Array(document.bytes[selection.upperBound...]))
        let editRange = document.range(of: selection, encoding: snapshot.encoding)
        let (flag, reporter) = registerModelJob(responder, title: InstructArguments.title)
        let job = ModelJob(responder: responder, flag: flag, uri: nil, progress: reporter,
                           whenSuperseded: { .failure(.requestCancelled) },
                           whenNoModel: { .failure(ResponseError(code: Self.requestFailed, message: $0.description)) })
        let connection = responder.connection, logger = logger, uri = document.uri
        submit(job, configuration: configuration, role: .teacher) { pipeline in
            let outcome: InstructionOutcome
            do {
                outcome = try pipeline.instruct(edit, maxNewTokens: InstructArguments.maxNewTokens,
                                                timeBudget: InstructArguments.timeBudget) { done in
                    reporter?.report(done: done, total: InstructArguments.maxNewTokens)
                    return flag.isCancelled
                }
            } catch let error as InstructionError {
                throw ResponseError(code: Self.requestFailed, message: error.description)
            }
            if flag.isCancelled { throw ResponseError.requestCancelled }
            logger.info("\(command): \(outcome.promptTokens) prompt tokens, \(outcome.generatedTokens) generated in \(outcome.elapsed) (\(outcome.stopReason)); \(outcome.drafting.total.accepted) of \(outcome.drafting.total.drafted) drafted tokens accepted")
            guard let text = outcome.replacement else {
                throw ResponseError(code: Self.requestFailed, message: "the model wrote no code for \"\(instruction)\"")
            }
            let workspaceEdit = WorkspaceEdit(changes: [uri: [TextEdit(range: editRange, newText: text)]])
            let params = try JSONValueEncoder().encode(ApplyWorkspaceEditParams(label: InstructArguments.title, edit: workspaceEdit))
            connection.sendRequest("workspace/applyEdit", params: params) { answer in
                let applied = (try? answer.get())?["applied"]?.boolValue == true
                if !applied { logger.warning("the client did not apply \"\(InstructArguments.title)\": \(answer)") }
            }
            return .null
        }
    }

    /// The byte range of `range`, which must lie in the document (a line past the end is an error here,
    /// not clamped: an edit must not land somewhere the user did not select) and must not be empty.
    static func selection(_ range: LSPRange, in document: TextDocument, encoding: PositionEncoding) throws(ResponseError) -> Swift.Range<Int> {
        func inside(_ position: Position) -> Bool {
            guard position.line >= 0, position.character >= 0 else { return false }
            // {line: lineCount, character: 0} is the end of the document (a whole-line selection of the last line).
            return position.line < document.lineCount || (position.line == document.lineCount && position.character == 0)
        }
        guard inside(range.start), inside(range.end) else {
            throw .invalidParams("params.arguments[0].range: \(range) is outside the document (\(document.lineCount) lines)")
        }
        guard (range.start.line, range.start.character) <= (range.end.line, range.end.character) else {
            throw .invalidParams("params.arguments[0].range: \(range) ends before it starts")
        }
        let selection = document.offsets(of: range, encoding: encoding)
        guard !selection.isEmpty else {
            throw .invalidParams("params.arguments[0].range: \(range) is empty; select the code to edit")
        }
        return selection
    }

    /// Registers a model job for `$/cancelRequest` and, when the client takes progress, a progress token.
    func registerModelJob<Request: RequestType>(_ responder: Responder<Request>, title: String) -> (CancellationFlag, ProgressReporter?) {
        let flag = CancellationFlag()
        let reporter = state.withLock { state -> ProgressReporter? in
            state.pending[responder.id] = flag
            guard state.capabilities.window?.workDoneProgress == true else { return nil }
            let token = ProgressToken.string("understudy-\(state.nextProgressToken)")
            state.nextProgressToken += 1
            state.progress[token] = flag
            return ProgressReporter(token: token, title: title, connection: responder.connection)
        }
        return (flag, reporter)
    }
}
