/// The params of `textDocument/didOpen`.
public struct DidOpenTextDocumentParams: Codable, Equatable, Sendable {
    public var textDocument: TextDocumentItem
    /// Opens `textDocument`.
    public init(textDocument: TextDocumentItem) { self.textDocument = textDocument }
}

/// One change of `didChange`: with a range it is incremental, without it replaces the whole text.
public struct TextDocumentContentChangeEvent: Codable, Equatable, Sendable {
    public var range: LSPRange?
    /// Deprecated in the spec and ignored here: the range alone says what to replace.
    public var rangeLength: Int?
    public var text: String
    /// A change; `range` nil means the whole document.
    public init(range: LSPRange?, text: String) {
        self.range = range
        self.text = text
    }
}

/// The params of `textDocument/didChange`.
public struct DidChangeTextDocumentParams: Codable, Equatable, Sendable {
    public var textDocument: VersionedTextDocumentIdentifier
    public var contentChanges: [TextDocumentContentChangeEvent]
    /// Changes to apply in order.
    public init(textDocument: VersionedTextDocumentIdentifier, contentChanges: [TextDocumentContentChangeEvent]) {
        self.textDocument = textDocument
        self.contentChanges = contentChanges
    }
}

/// The params of `textDocument/didClose`.
public struct DidCloseTextDocumentParams: Codable, Equatable, Sendable {
    public var textDocument: TextDocumentIdentifier
}

/// The params of `textDocument/didSave`.
public struct DidSaveTextDocumentParams: Codable, Equatable, Sendable {
    public var textDocument: TextDocumentIdentifier
    public var text: String?
}
