import JSONRPC

/// How an inline completion was asked for.
public enum InlineCompletionTriggerKind: Int, Codable, Equatable, Sendable {
    /// The user asked explicitly: we answer with several candidates.
    case invoked = 1
    /// Asked while typing: one candidate, as fast as possible.
    case automatic = 2
}

/// The completion-menu item the user has selected, which an inline completion must extend.
public struct SelectedCompletionInfo: Codable, Equatable, Sendable {
    public var range: LSPRange
    public var text: String
}

/// `InlineCompletionParams.context`.
public struct InlineCompletionContext: Codable, Equatable, Sendable {
    public var triggerKind: InlineCompletionTriggerKind
    public var selectedCompletionInfo: SelectedCompletionInfo?
    /// A context.
    public init(triggerKind: InlineCompletionTriggerKind, selectedCompletionInfo: SelectedCompletionInfo? = nil) {
        self.triggerKind = triggerKind
        self.selectedCompletionInfo = selectedCompletionInfo
    }
}

/// The params of `textDocument/inlineCompletion`.
public struct InlineCompletionParams: Codable, Equatable, Sendable {
    public var textDocument: TextDocumentIdentifier
    public var position: Position
    public var context: InlineCompletionContext
    public var workDoneToken: ProgressToken?
}

/// One ghost-text proposal.
public struct InlineCompletionItem: Codable, Equatable, Sendable {
    /// Plain text (we never send snippets).
    public var insertText: String
    public var filterText: String?
    public var range: LSPRange?
    /// An item replacing `range` with `insertText`.
    public init(insertText: String, range: LSPRange?) {
        self.insertText = insertText
        self.range = range
    }
}

/// The result of `textDocument/inlineCompletion`.
public struct InlineCompletionList: Codable, Equatable, Sendable {
    public var items: [InlineCompletionItem]
    /// A list.
    public init(items: [InlineCompletionItem]) { self.items = items }
}

/// `CompletionParams.context`.
public struct CompletionContext: Codable, Equatable, Sendable {
    /// 1 invoked, 2 trigger character, 3 re-trigger for an incomplete list.
    public var triggerKind: Int
    public var triggerCharacter: String?
}

/// The params of `textDocument/completion`.
public struct CompletionParams: Codable, Equatable, Sendable {
    public var textDocument: TextDocumentIdentifier
    public var position: Position
    public var context: CompletionContext?
}

/// One completion-menu entry.
public struct CompletionItem: Codable, Equatable, Sendable {
    public var label: String
    /// 1 = Text.
    public var kind: Int?
    public var detail: String?
    public var sortText: String?
    public var filterText: String?
    /// 1 = plain text.
    public var insertTextFormat: Int?
    public var textEdit: TextEdit?
}

/// The result of `textDocument/completion`.
public struct CompletionList: Codable, Equatable, Sendable {
    public var isIncomplete: Bool
    public var items: [CompletionItem]
}

/// `CodeActionParams.context`.
public struct CodeActionContext: Codable, Equatable, Sendable {
    /// Carried but unused: our actions do not depend on diagnostics.
    public var diagnostics: [JSONValue]
    public var only: [String]?
    public var triggerKind: Int?
}

/// The params of `textDocument/codeAction`.
public struct CodeActionParams: Codable, Equatable, Sendable {
    public var textDocument: TextDocumentIdentifier
    public var range: LSPRange
    public var context: CodeActionContext
}

/// A code action; ours come without `edit` and get it in `codeAction/resolve`.
public struct CodeAction: Codable, Equatable, Sendable {
    public var title: String
    public var kind: String?
    public var edit: WorkspaceEdit?
    public var command: Command?
    /// Round-trips through the client to `codeAction/resolve` (see `CodeActionData`).
    public var data: JSONValue?
}
