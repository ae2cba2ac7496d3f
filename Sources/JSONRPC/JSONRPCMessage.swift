/// A JSON-RPC request id: an integer or a string, as the sender chose.
public enum RequestID: Hashable, Sendable, CustomStringConvertible, Codable {
    case int(Int64)
    case string(String)

    /// The id as it appears on the wire.
    public var jsonValue: JSONValue {
        switch self {
        case .int(let value): return .int(value)
        case .string(let value): return .string(value)
        }
    }

    public var description: String {
        switch self {
        case .int(let value): return "\(value)"
        case .string(let value): return "\"\(value)\""
        }
    }

    public init(from decoder: any Decoder) throws {
        let single = try decoder.singleValueContainer()
        if let value = try? single.decode(Int64.self) {
            self = .int(value)
        } else {
            self = .string(try single.decode(String.self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var single = encoder.singleValueContainer()
        switch self {
        case .int(let value): try single.encode(value)
        case .string(let value): try single.encode(value)
        }
    }
}

/// One JSON-RPC 2.0 message. Batches are not supported (LSP never sends them).
public enum JSONRPCMessage: Equatable, Sendable {
    /// A call that expects a response carrying the same id.
    case request(id: RequestID, method: String, params: JSONValue?)
    /// A call without an id; nothing is answered.
    case notification(method: String, params: JSONValue?)
    /// A successful answer; `result` may be `.null` (as for `shutdown`).
    case response(id: RequestID, result: JSONValue)
    /// A failed answer; the id is nil when the failing message's id could not be read.
    case error(id: RequestID?, ResponseError)
}

/// A body that is not an acceptable JSON-RPC message, together with the error to answer it with.
public struct InvalidMessage: Error, Equatable, Sendable, CustomStringConvertible {
    /// The offending message's id, when it could be read (nil for parse errors).
    public var id: RequestID?
    /// -32700 for bad JSON, -32600 for a bad envelope.
    public var error: ResponseError

    /// The error response JSON-RPC prescribes for this message.
    public var response: JSONRPCMessage { .error(id: id, error) }

    public var description: String {
        id.map { "\(error) (id \($0))" } ?? error.description
    }
}

extension JSONRPCMessage {
    /// Parses and validates one message body.
    public init(parsing body: [UInt8]) throws(InvalidMessage) {
        let value: JSONValue
        do {
            value = try JSONValue(parsing: body)
        } catch {
            throw InvalidMessage(id: nil, error: .parseError(error.description))
        }
        try self.init(validating: value)
    }

    /// Validates the JSON-RPC 2.0 envelope of an already parsed message.
    ///
    /// `"params": null` is taken as absent: the spec asks for an object or array, but several
    /// editors send null for parameterless calls like `shutdown`, and refusing them helps no one.
    public init(validating value: JSONValue) throws(InvalidMessage) {
        guard case .object(let object) = value else {
            let reason = value.arrayValue != nil
                ? "batch requests are not supported"
                : "a JSON-RPC message must be an object, found \(value.kindName)"
            throw InvalidMessage(id: nil, error: .invalidRequest(reason))
        }

        // Read the id first so that every later complaint can be answered under it.
        var id: RequestID?
        var idIsNull = false
        switch object["id"] {
        case nil: break
        case .null?: idIsNull = true
        case .int(let number)?: id = .int(number)
        case .string(let text)?: id = .string(text)
        case let other?:
            throw InvalidMessage(id: nil, error: .invalidRequest("id must be an integer or a string, found \(other.kindName)"))
        }
        func invalid(_ reason: String) -> InvalidMessage {
            InvalidMessage(id: id, error: .invalidRequest(reason))
        }

        guard object["jsonrpc"] == .string("2.0") else {
            throw invalid("\"jsonrpc\" must be \"2.0\", found \(object["jsonrpc"]?.description ?? "nothing")")
        }

        if let methodValue = object["method"] {
            guard case .string(let method) = methodValue else {
                throw invalid("method must be a string, found \(methodValue.kindName)")
            }
            var params: JSONValue?
            switch object["params"] {
            case nil, .null?: params = nil
            case let structured? where structured.arrayValue != nil || structured.objectValue != nil: params = structured
            case let other?: throw invalid("params must be an object or an array, found \(other.kindName)")
            }
            if let id {
                self = .request(id: id, method: method, params: params)
            } else if idIsNull {
                throw invalid("a request id must not be null")
            } else {
                self = .notification(method: method, params: params)
            }
            return
        }

        switch (object["result"], object["error"]) {
        case (nil, nil):
            throw invalid("message has neither a method nor a result or error")
        case (.some, .some):
            throw invalid("response has both a result and an error")
        case (let result?, nil):
            guard let id else { throw invalid("a result response needs an integer or string id") }
            self = .response(id: id, result: result)
        case (nil, let errorValue?):
            guard let error = ResponseError(jsonValue: errorValue) else {
                throw invalid("error must be an object with an integer code and a string message")
            }
            guard id != nil || idIsNull else { throw invalid("an error response needs an id (null if unknown)") }
            self = .error(id: id, error)
        }
    }

    /// The message as a JSON-RPC 2.0 object.
    public var jsonValue: JSONValue {
        var object: JSONObject = ["jsonrpc": "2.0"]
        switch self {
        case .request(let id, let method, let params):
            object["id"] = id.jsonValue
            object["method"] = .string(method)
            if let params { object["params"] = params }
        case .notification(let method, let params):
            object["method"] = .string(method)
            if let params { object["params"] = params }
        case .response(let id, let result):
            object["id"] = id.jsonValue
            object["result"] = result
        case .error(let id, let error):
            object["id"] = id?.jsonValue ?? .null
            object["error"] = error.jsonValue
        }
        return .object(object)
    }

    /// The message as compact JSON bytes, ready to frame.
    public func serialized() -> [UInt8] {
        jsonValue.serialized()
    }
}
