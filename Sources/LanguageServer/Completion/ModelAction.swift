import Model

/// Code action kinds we report.
public enum CodeActionKind {
    /// All our actions rewrite or add code at the selection.
    public static let rewrite = "refactor.rewrite"
}

/// A model-backed code action: which text the model sees and where its output goes.
public enum ModelAction: String, Codable, CaseIterable, Sendable {
    case fillSelection, completeBody, addDocumentation, continueHere

    /// The command that runs an action for a client without `codeAction/resolve` (its argument is the
    /// action's `Data`); the server answers it with `workspace/applyEdit`.
    public static let applyCommand = "understudy.applyCodeAction"

    /// The title the client shows.
    public var title: String {
        switch self {
        case .fillSelection: return "Fill in selection"
        case .completeBody: return "Complete function body"
        case .addDocumentation: return "Add documentation comment"
        case .continueHere: return "Continue from here"
        }
    }

    /// The `data` a code action carries from `textDocument/codeAction` to `codeAction/resolve`.
    public struct Data: Codable, Equatable, Sendable {
        public var action: ModelAction
        public var uri: DocumentURI
        public var version: Int
        public var range: LSPRange
    }

    /// A planned action: the prompt's two sides, where the result goes, and how to wrap it.
    public struct Plan: Sendable, Equatable {
        /// Bytes before and after the generated text, as the model should see them.
        public var prefix: [UInt8]
        public var suffix: [UInt8]
        /// The document bytes the edit replaces (empty for an insertion).
        public var replaced: Swift.Range<Int>
        /// Text around the generated text in the edit.
        public var before: String
        public var after: String
        public var rules: PostProcessor.Rules
        /// A comment marker the generated lines must start with (documentation), else nil.
        public var linePrefix: String?
        /// For a body that only indentation delimits (Python): the generated text ends before the first
        /// non-blank line indented less than this many columns (the function is over), else nil.
        public var blockIndent: Int? = nil
    }

    /// The actions that make sense for `selection` (bytes) in `document`.
    public static func available(in document: TextDocument, selection: Swift.Range<Int>) -> [ModelAction] {
        var actions: [ModelAction] = []
        if !selection.isEmpty { actions.append(.fillSelection) }
        if bodyOpener(in: document, selection: selection) != nil { actions.append(.completeBody) }
        actions.append(.addDocumentation)
        actions.append(.continueHere)
        return actions
    }

    /// What to ask the model, or nil when the action does not apply to this selection.
    public func plan(in document: TextDocument, selection: Swift.Range<Int>) -> Plan? {
        let bytes = document.bytes
        switch self {
        case .fillSelection:
            guard !selection.isEmpty else { return nil }
            let lines = bytes[selection].filter { $0 == 0x0A }.count
            return Plan(prefix: Array(bytes[..<selection.lowerBound]), suffix: Array(bytes[selection.upperBound...]),
                        replaced: selection, before: "", after: "",
                        rules: .init(multiLine: lines > 0, stopAtBlankLine: false, maxLines: lines + 8), linePrefix: nil)
        case .completeBody:
            guard var opener = Self.bodyOpener(in: document, selection: selection) else { return nil }
            let indent = Self.indentation(of: document, line: opener.line)
            var bodyIndent = indent + (indent.contains("\t") ? "\t" : "    ")
            // A Python docstring under the `def` stays above the body, so the model reads it first
            // (a model without fill-in-the-middle sees nothing after the insertion point).
            if !opener.emptyBraces, let docstring = Self.docstringEnd(in: document, after: opener.line) {
                bodyIndent = Self.indentation(of: document, line: opener.line + 1)
                opener = (docstring, opener.line, false, true)
            }
            let before = "\n" + bodyIndent
            let after = opener.emptyBraces ? "\n" + indent : ""
            return Plan(prefix: Array(bytes[..<opener.offset]) + Array(before.utf8),
                        suffix: Array(after.utf8) + Array(bytes[opener.offset...]),
                        replaced: opener.offset..<opener.offset, before: before, after: after,
                        rules: .init(multiLine: true, stopAtBlankLine: false, maxLines: 40), linePrefix: nil,
                        blockIndent: opener.colon ? bodyIndent.count : nil)
        case .addDocumentation:
            let line = document.line(containing: selection.lowerBound)
            let start = document.lineStarts[line]
            let marker = Self.documentationMarker(for: document.languageId)
            let before = Self.indentation(of: document, line: line) + marker + " "
            return Plan(prefix: Array(bytes[..<start]) + Array(before.utf8), suffix: [0x0A] + Array(bytes[start...]),
                        replaced: start..<start, before: before, after: "\n",
                        rules: .init(multiLine: true, stopAtBlankLine: true, maxLines: 8), linePrefix: marker)
        case .continueHere:
            let end = selection.upperBound
            return Plan(prefix: Array(bytes[..<end]), suffix: Array(bytes[end...]), replaced: end..<end,
                        before: "", after: "", rules: .init(multiLine: true, stopAtBlankLine: false, maxLines: 24),
                        linePrefix: nil)
        }
    }

    /// The generated text as it goes into the edit; nil when nothing usable is left.
    public func finish(_ generated: String, plan: Plan) -> String? {
        var text = generated
        if let indent = plan.blockIndent {
            // The first line continues the body's indentation; a later line left of it is past the body.
            var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
            if let cut = lines.dropFirst().firstIndex(where: { line in
                !line.allSatisfy(\.isWhitespace) && line.prefix(while: { $0 == " " || $0 == "\t" }).count < indent
            }) {
                lines.removeSubrange(cut...)
                text = lines.joined(separator: "\n").trimmingTrailingWhitespace()
            }
        }
        if let marker = plan.linePrefix {
            // Documentation: keep only the comment lines; the first line got its marker from the prompt.
            var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            if let cut = lines.dropFirst().firstIndex(where: { !$0.trimmingLeadingWhitespace().hasPrefix(marker) }) {
                lines.removeSubrange(cut...)
            }
            text = lines.joined(separator: "\n")
        }
        guard !text.trimmingWhitespace().isEmpty else { return nil }
        return plan.before + text + plan.after
    }

    /// Where a function body starts: right after a `{` ending a selected line (or a `{}` pair),
    /// or at the end of a line ending in `:` (Python).
    static func bodyOpener(in document: TextDocument, selection: Swift.Range<Int>) -> (offset: Int, line: Int, emptyBraces: Bool, colon: Bool)? {
        let first = document.line(containing: selection.lowerBound)
        let last = max(first, document.line(containing: selection.upperBound))
        for line in first...last {
            let content = document.lineContent(line)
            let text = String(decoding: document.bytes[content], as: UTF8.self).trimmingTrailingWhitespace()
            let end = content.lowerBound + text.utf8.count
            if text.hasSuffix("{}") { return (end - 1, line, true, false) }
            if text.hasSuffix("{") || text.hasSuffix(":") { return (end, line, false, text.hasSuffix(":")) }
        }
        return nil
    }

    /// Where the docstring that starts on the line after `line` ends (the end of its closing line's
    /// text), if that line opens one with `"""` or `'''`.
    static func docstringEnd(in document: TextDocument, after line: Int) -> Int? {
        let first = line + 1
        guard first < document.lineCount else { return nil }
        let text = String(decoding: document.bytes[document.lineContent(first)], as: UTF8.self).trimmingWhitespace()
        let body = text.drop { "rRuUbBfF".contains($0) }
        guard let quote = ["\"\"\"", "'''"].first(where: { body.hasPrefix($0) }) else { return nil }
        // Closed on its own line ("""Return x."""), or on a later one.
        if body.count >= 6 && body.dropFirst(3).hasSuffix(quote) { return document.lineContent(first).upperBound }
        for next in (first + 1)..<min(document.lineCount, first + 200) {
            let content = document.lineContent(next)
            if String(decoding: document.bytes[content], as: UTF8.self).contains(quote) { return content.upperBound }
        }
        return nil
    }

    static func indentation(of document: TextDocument, line: Int) -> String {
        let content = document.lineContent(line)
        let indent = document.bytes[content].prefix { $0 == 0x20 || $0 == 0x09 }
        return String(decoding: indent, as: UTF8.self)
    }

    /// The documentation comment marker for a language id.
    public static func documentationMarker(for languageId: String) -> String {
        switch languageId {
        case "swift", "rust", "c", "cpp", "objective-c", "objective-cpp", "csharp", "zig":
            return "///"
        default:
            return ContextAssembler.commentMarker(for: languageId)
        }
    }
}
