import JSONRPC

// The basic LSP structures (3.18 names). Optional members are omitted from the JSON when nil,
// which is what the spec's `?` means.

/// A document URI, kept as the client sent it (we never resolve it to a file).
public typealias DocumentURI = String

/// A zero-based line and a character offset in the negotiated position encoding.
public struct Position: Codable, Hashable, Sendable, CustomStringConvertible {
    /// Zero-based line.
    public var line: Int
    /// Zero-based offset within the line, in code units of the negotiated encoding.
    public var character: Int

    /// A position at `line`, `character`.
    public init(line: Int, character: Int) {
        self.line = line
        self.character = character
    }

    public var description: String { "\(line):\(character)" }
}

/// A half-open range between two positions.
/// (LSP `Range`; renamed so it does not shadow Swift.Range.)
public struct LSPRange: Codable, Hashable, Sendable, CustomStringConvertible {
    public var start: Position
    public var end: Position

    /// The range from `start` to `end`.
    public init(start: Position, end: Position) {
        self.start = start
        self.end = end
    }

    /// The empty range at `position`.
    public init(at position: Position) {
        self.init(start: position, end: position)
    }

    public var description: String { "\(start)-\(end)" }
}

/// Names a document.
public struct TextDocumentIdentifier: Codable, Equatable, Sendable {
    public var uri: DocumentURI
    /// Identifies the document at `uri`.
    public init(uri: DocumentURI) { self.uri = uri }
}

/// Names a document at a version.
public struct VersionedTextDocumentIdentifier: Codable, Equatable, Sendable {
    public var uri: DocumentURI
    public var version: Int
    /// Identifies `uri` at `version`.
    public init(uri: DocumentURI, version: Int) {
        self.uri = uri
        self.version = version
    }
}

/// A whole document as `didOpen` sends it.
public struct TextDocumentItem: Codable, Equatable, Sendable {
    public var uri: DocumentURI
    public var languageId: String
    public var version: Int
    public var text: String
    /// A document item.
    public init(uri: DocumentURI, languageId: String, version: Int, text: String) {
        self.uri = uri
        self.languageId = languageId
        self.version = version
        self.text = text
    }
}

/// A document and a position in it.
public struct TextDocumentPositionParams: Codable, Equatable, Sendable {
    public var textDocument: TextDocumentIdentifier
    public var position: Position
    /// The params for `uri` at `position`.
    public init(textDocument: TextDocumentIdentifier, position: Position) {
        self.textDocument = textDocument
        self.position = position
    }
}

/// Replace `range` with `newText`.
public struct TextEdit: Codable, Equatable, Sendable {
    public var range: LSPRange
    public var newText: String
    /// An edit.
    public init(range: LSPRange, newText: String) {
        self.range = range
        self.newText = newText
    }
}

/// Edits to several documents; we only ever fill `changes`.
public struct WorkspaceEdit: Codable, Equatable, Sendable {
    public var changes: [DocumentURI: [TextEdit]]?
    /// A workspace edit with plain per-document edits.
    public init(changes: [DocumentURI: [TextEdit]]?) { self.changes = changes }
}

/// The params of `workspace/applyEdit` (server to client).
public struct ApplyWorkspaceEditParams: Codable, Equatable, Sendable {
    public var label: String?
    public var edit: WorkspaceEdit
    /// Asks the client to apply `edit`.
    public init(label: String?, edit: WorkspaceEdit) {
        self.label = label
        self.edit = edit
    }
}

/// The client's answer to `workspace/applyEdit`.
public struct ApplyWorkspaceEditResult: Codable, Equatable, Sendable {
    public var applied: Bool
    public var failureReason: String?
    /// An answer.
    public init(applied: Bool, failureReason: String? = nil) {
        self.applied = applied
        self.failureReason = failureReason
    }
}

/// A command the client may run (we only attach them, never register executors).
public struct Command: Codable, Equatable, Sendable {
    public var title: String
    public var command: String
    public var arguments: [JSONValue]?
    /// A command.
    public init(title: String, command: String, arguments: [JSONValue]? = nil) {
        self.title = title
        self.command = command
        self.arguments = arguments
    }
}

/// A progress token: an integer or a string.
public typealias ProgressToken = RequestID

/// The params of `$/cancelRequest`.
public struct CancelParams: Codable, Equatable, Sendable {
    public var id: RequestID
    /// Cancels request `id`.
    public init(id: RequestID) { self.id = id }
}
