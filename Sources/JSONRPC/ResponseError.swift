/// A JSON-RPC error code; the named ones are those of JSON-RPC 2.0 and of LSP that we send or expect.
public struct ErrorCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int

    public init(rawValue: Int) { self.rawValue = rawValue }

    /// -32700: the message is not valid JSON.
    public static let parseError = ErrorCode(rawValue: -32700)
    /// -32600: the JSON is not a valid JSON-RPC request (or a batch, which we do not support).
    public static let invalidRequest = ErrorCode(rawValue: -32600)
    /// -32601: no such method.
    public static let methodNotFound = ErrorCode(rawValue: -32601)
    /// -32602: the method exists but its params do not fit.
    public static let invalidParams = ErrorCode(rawValue: -32602)
    /// -32603: the server failed while handling the request.
    public static let internalError = ErrorCode(rawValue: -32603)
    /// -32002 (LSP): a request arrived before `initialize`.
    public static let serverNotInitialized = ErrorCode(rawValue: -32002)
    /// -32800 (LSP): the client cancelled the request.
    public static let requestCancelled = ErrorCode(rawValue: -32800)
    /// -32801 (LSP): the document changed while the request ran, so the result would be stale.
    public static let contentModified = ErrorCode(rawValue: -32801)

    public var description: String { "\(rawValue)" }
}

/// The `error` member of a JSON-RPC response; also thrown by handlers to produce one.
public struct ResponseError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What kind of failure this is.
    public var code: ErrorCode
    /// A short human-readable explanation.
    public var message: String
    /// Optional extra detail for the client.
    public var data: JSONValue?

    /// An error with an explicit code.
    public init(code: ErrorCode, message: String, data: JSONValue? = nil) {
        self.code = code
        self.message = message
        self.data = data
    }

    /// -32700 with the parser's explanation.
    public static func parseError(_ message: String) -> ResponseError { .init(code: .parseError, message: message) }
    /// -32600 with what is wrong with the envelope.
    public static func invalidRequest(_ message: String) -> ResponseError { .init(code: .invalidRequest, message: message) }
    /// -32601 naming the unknown method.
    public static func methodNotFound(_ method: String) -> ResponseError {
        .init(code: .methodNotFound, message: "method not found: \(method)")
    }
    /// -32602 with what is wrong with the params.
    public static func invalidParams(_ message: String) -> ResponseError { .init(code: .invalidParams, message: message) }
    /// -32603 with what failed.
    public static func internalError(_ message: String) -> ResponseError { .init(code: .internalError, message: message) }
    /// -32002 for a request before `initialize`.
    public static let serverNotInitialized = ResponseError(code: .serverNotInitialized, message: "server not initialized")
    /// -32800 for a request the client cancelled.
    public static let requestCancelled = ResponseError(code: .requestCancelled, message: "request cancelled")
    /// -32801 for a result made stale by an edit.
    public static let contentModified = ResponseError(code: .contentModified, message: "content modified")

    /// The error as the JSON object a response carries.
    public var jsonValue: JSONValue {
        var object: JSONObject = ["code": .int(Int64(code.rawValue)), "message": .string(message)]
        if let data { object["data"] = data }
        return .object(object)
    }

    /// Reads an error object; nil when `value` is not a well-formed one.
    public init?(jsonValue value: JSONValue) {
        guard case .object(let object) = value,
            let code = object["code"]?.intValue, let codeInt = Int(exactly: code),
            let message = object["message"]?.stringValue
        else { return nil }
        self.init(code: ErrorCode(rawValue: codeInt), message: message, data: object["data"])
    }

    public var description: String { "JSON-RPC error \(code.rawValue): \(message)" }
}
