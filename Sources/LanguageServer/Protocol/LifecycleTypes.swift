import JSONRPC

/// How positions count characters; negotiated in `initialize`.
public enum PositionEncoding: String, Codable, Equatable, Sendable {
    case utf8 = "utf-8"
    case utf16 = "utf-16"
    case utf32 = "utf-32"
}

/// The subset of the client's capabilities the server looks at; everything else is ignored.
public struct ClientCapabilities: Codable, Equatable, Sendable {
    public struct General: Codable, Equatable, Sendable {
        /// Raw strings so that an encoding we do not know does not fail the whole `initialize`.
        public var positionEncodings: [String]?
    }
    public struct Window: Codable, Equatable, Sendable {
        public var workDoneProgress: Bool?
        public var showMessage: JSONValue?
    }
    public struct Workspace: Codable, Equatable, Sendable {
        public var applyEdit: Bool?
        public var configuration: Bool?
    }
    public var general: General?
    public var window: Window?
    public var workspace: Workspace?
    public var textDocument: JSONValue?

    /// Capabilities with nothing set.
    public init() {}

    /// Whether the client can fill in a code action's `edit` with `codeAction/resolve`
    /// (`textDocument.codeAction.resolveSupport.properties` names "edit").
    public var resolvesCodeActionEdits: Bool {
        let properties = textDocument?["codeAction"]?["resolveSupport"]?["properties"]?.arrayValue ?? []
        return properties.contains { $0.stringValue == "edit" }
    }
}

/// The name and version of a client or server.
public struct ProcessInfo: Codable, Equatable, Sendable {
    public var name: String
    public var version: String?
    /// Names a program.
    public init(name: String, version: String? = nil) {
        self.name = name
        self.version = version
    }
}

/// The trace level `$/setTrace` and `initialize` set.
public enum TraceValue: String, Codable, Equatable, Sendable {
    case off, messages, verbose
}

/// The params of `initialize`.
public struct InitializeParams: Codable, Equatable, Sendable {
    /// Absent and null are the same to us: `processId` is informative only.
    public var processId: Int?
    public var clientInfo: ProcessInfo?
    public var rootUri: String?
    public var capabilities: ClientCapabilities
    /// Our settings (see `ServerConfiguration`), free-form so bad members can be reported one by one.
    public var initializationOptions: JSONValue?
    public var trace: TraceValue?

    /// Params with the given capabilities.
    public init(capabilities: ClientCapabilities = ClientCapabilities(), initializationOptions: JSONValue? = nil) {
        self.capabilities = capabilities
        self.initializationOptions = initializationOptions
    }
}

/// How the client sends document changes.
public enum TextDocumentSyncKind: Int, Codable, Equatable, Sendable {
    case none = 0
    /// The whole text each time.
    case full = 1
    /// Only the changed ranges.
    case incremental = 2
}

/// `textDocumentSync` as an options object.
public struct TextDocumentSyncOptions: Codable, Equatable, Sendable {
    public struct SaveOptions: Codable, Equatable, Sendable {
        public var includeText: Bool
    }
    public var openClose: Bool
    public var change: TextDocumentSyncKind
    public var save: SaveOptions
}

/// `completionProvider`.
public struct CompletionOptions: Codable, Equatable, Sendable {
    public var triggerCharacters: [String]?
    public var resolveProvider: Bool
}

/// `codeActionProvider`.
public struct CodeActionOptions: Codable, Equatable, Sendable {
    public var codeActionKinds: [String]
    public var resolveProvider: Bool
}

/// `executeCommandProvider`: the commands the server runs on `workspace/executeCommand`.
public struct ExecuteCommandOptions: Codable, Equatable, Sendable {
    public var commands: [String]
}

/// What the server can do.
public struct ServerCapabilities: Codable, Equatable, Sendable {
    public var positionEncoding: PositionEncoding
    public var textDocumentSync: TextDocumentSyncOptions
    public var completionProvider: CompletionOptions
    public var inlineCompletionProvider: Bool
    public var codeActionProvider: CodeActionOptions
    public var executeCommandProvider: ExecuteCommandOptions
    /// Ours: whether `understudy.instruct` runs with the served model, and why not.
    public var experimental: ExperimentalCapabilities?
}

/// The result of `initialize`.
public struct InitializeResult: Codable, Equatable, Sendable {
    public var capabilities: ServerCapabilities
    public var serverInfo: ProcessInfo
}

/// The params of `$/setTrace`.
public struct SetTraceParams: Codable, Equatable, Sendable {
    public var value: TraceValue
}

/// The params of `$/logTrace`.
public struct LogTraceParams: Codable, Equatable, Sendable {
    public var message: String
    public var verbose: String?
}

/// Severity of `window/logMessage` and `window/showMessage`.
public enum MessageType: Int, Codable, Equatable, Sendable {
    case error = 1, warning = 2, info = 3, log = 4, debug = 5
}

/// The params of `window/logMessage` and `window/showMessage`.
public struct LogMessageParams: Codable, Equatable, Sendable {
    public var type: MessageType
    public var message: String
    /// A message of severity `type`.
    public init(type: MessageType, message: String) {
        self.type = type
        self.message = message
    }
}

/// `window/showMessage` carries the same shape.
public typealias ShowMessageParams = LogMessageParams

/// The params of `workspace/didChangeConfiguration`.
public struct DidChangeConfigurationParams: Codable, Equatable, Sendable {
    public var settings: JSONValue?
}

/// The params of `window/workDoneProgress/create` and `window/workDoneProgress/cancel`.
public struct WorkDoneProgressCreateParams: Codable, Equatable, Sendable {
    public var token: ProgressToken
}

/// The first `$/progress` value of an operation.
public struct WorkDoneProgressBegin: Codable, Equatable, Sendable {
    public var kind = "begin"
    public var title: String
    public var cancellable: Bool?
    public var message: String?
    public var percentage: Int?
}

/// An intermediate `$/progress` value.
public struct WorkDoneProgressReport: Codable, Equatable, Sendable {
    public var kind = "report"
    public var cancellable: Bool?
    public var message: String?
    public var percentage: Int?
}

/// The last `$/progress` value of an operation.
public struct WorkDoneProgressEnd: Codable, Equatable, Sendable {
    public var kind = "end"
    public var message: String?
}

/// The params of `$/progress`.
public struct ProgressParams: Codable, Equatable, Sendable {
    public var token: ProgressToken
    public var value: JSONValue
}
