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

/// How a completion menu was asked for.
public enum CompletionTriggerKind: Int, Codable, Equatable, Sendable {
    /// The user asked explicitly (or the client did on the user's behalf): several candidates.
    case invoked = 1
    case triggerCharacter = 2
    /// The client asks again because the previous list was incomplete (while the user types).
    case triggerForIncompleteCompletions = 3
}

/// `CompletionParams.context`.
public struct CompletionContext: Codable, Equatable, Sendable {
    public var triggerKind: CompletionTriggerKind
    public var triggerCharacter: String?
}

/// The params of `textDocument/completion`.
public struct CompletionParams: Codable, Equatable, Sendable {
    public var textDocument: TextDocumentIdentifier
    public var position: Position
    public var context: CompletionContext?
}

/// The icon a completion-menu entry gets (the kinds we send; LSP defines 25).
public enum CompletionItemKind: Int, Codable, Equatable, Sendable {
    case text = 1
}

/// How a completion item's text is to be read.
public enum InsertTextFormat: Int, Codable, Equatable, Sendable {
    case plainText = 1
    case snippet = 2
}

/// One completion-menu entry.
public struct CompletionItem: Codable, Equatable, Sendable {
    public var label: String
    public var kind: CompletionItemKind?
    public var detail: String?
    public var sortText: String?
    public var filterText: String?
    public var insertTextFormat: InsertTextFormat?
    public var textEdit: TextEdit?
}

/// The result of `textDocument/completion`.
public struct CompletionList: Codable, Equatable, Sendable {
    public var isIncomplete: Bool
    public var items: [CompletionItem]
}

/// How code actions were asked for.
public enum CodeActionTriggerKind: Int, Codable, Equatable, Sendable {
    /// The user asked (a menu or a key).
    case invoked = 1
    /// The client asked on its own (e.g. when the cursor moved).
    case automatic = 2
}

/// `CodeActionParams.context`.
public struct CodeActionContext: Codable, Equatable, Sendable {
    /// Carried but unused: our actions do not depend on diagnostics.
    public var diagnostics: [JSONValue]
    public var only: [String]?
    public var triggerKind: CodeActionTriggerKind?
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

/// The params of `workspace/executeCommand`.
public struct ExecuteCommandParams: Codable, Equatable, Sendable {
    public var command: String
    public var arguments: [JSONValue]?
}
