import JSONRPC

/// A request the server answers: its method, the shape of its params and of its result, in one type
/// (as sourcekit-lsp binds them), so a handler receives decoded params and can only answer with the
/// result type the method promises.
protocol RequestType: SendableMetatype {
    associatedtype Params: Decodable & Sendable
    associatedtype Response: Encodable & Sendable
    static var method: String { get }
}

enum InitializeRequest: RequestType {
    typealias Params = InitializeParams
    typealias Response = InitializeResult
    static let method = "initialize"
}

enum InlineCompletionRequest: RequestType {
    typealias Params = InlineCompletionParams
    typealias Response = InlineCompletionList
    static let method = "textDocument/inlineCompletion"
}

enum CompletionRequest: RequestType {
    typealias Params = CompletionParams
    typealias Response = CompletionList
    static let method = "textDocument/completion"
}

enum CodeActionRequest: RequestType {
    typealias Params = CodeActionParams
    typealias Response = [CodeAction]
    static let method = "textDocument/codeAction"
}

enum CodeActionResolveRequest: RequestType {
    typealias Params = CodeAction
    typealias Response = CodeAction
    static let method = "codeAction/resolve"
}

enum ExecuteCommandRequest: RequestType {
    typealias Params = ExecuteCommandParams
    /// Always null: the command's effect is the `workspace/applyEdit` sent before the answer.
    typealias Response = JSONValue
    static let method = "workspace/executeCommand"
}

/// Answers one request exactly once, now or later (from the model worker), with its result type.
struct Responder<Request: RequestType>: Sendable {
    let id: RequestID
    let connection: JSONRPCConnection

    /// Sends `result`, or an internal error when it cannot be encoded.
    func reply(_ result: Request.Response) {
        do {
            connection.sendResponse(to: id, result: try JSONValueEncoder().encode(result))
        } catch {
            connection.sendError(to: id, .internalError("cannot encode the result of \(Request.method): \(error)"))
        }
    }

    func fail(_ error: ResponseError) {
        connection.sendError(to: id, error)
    }

    func send(_ answer: Result<Request.Response, ResponseError>) {
        switch answer {
        case .success(let result): reply(result)
        case .failure(let error): fail(error)
        }
    }
}

/// A registered request handler: decodes the params, runs the handler, turns a thrown
/// `ResponseError` into the error response.
struct RequestHandler: Sendable {
    let run: @Sendable (LanguageServer, RequestID, JSONValue?, JSONRPCConnection) -> Void

    /// The handler of `Request`; `body` answers through the responder, now or later.
    init<Request: RequestType>(
        _ request: Request.Type,
        _ body: @escaping @Sendable (LanguageServer, Request.Params, Responder<Request>) throws(ResponseError) -> Void
    ) {
        run = { server, id, params, connection in
            let responder = Responder<Request>(id: id, connection: connection)
            do throws(ResponseError) {
                try body(server, try decodeParams(Request.Params.self, params), responder)
            } catch {
                responder.fail(error)
            }
        }
    }
}

/// Decodes params; a mismatch is -32602 naming the offending member.
func decodeParams<T: Decodable>(_ type: T.Type, _ params: JSONValue?) throws(ResponseError) -> T {
    guard let params else { throw .invalidParams("params are required") }
    do {
        return try JSONValueDecoder().decode(type, from: params, path: "params")
    } catch {
        throw .invalidParams("\(error)")
    }
}
