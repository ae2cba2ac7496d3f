/// The text around the cursor that post-processing needs.
public struct CursorContext: Sendable, Equatable {
    /// The current line before the cursor.
    public var linePrefix: String
    /// The current line after the cursor (without the line ending).
    public var lineSuffix: String
    /// The lines after the current one (a few are enough).
    public var followingText: String
    /// Brackets opened before the cursor and not yet closed, innermost last (ASCII bytes).
    public var openBrackets: [UInt8]

    /// A context; `openBrackets` is usually `PostProcessor.openBrackets(in:)` of the text before the cursor.
    public init(linePrefix: String, lineSuffix: String, followingText: String = "", openBrackets: [UInt8] = []) {
        self.linePrefix = linePrefix
        self.lineSuffix = lineSuffix
        self.followingText = followingText
        self.openBrackets = openBrackets
    }

    /// Whether to ask for several lines: on an empty line or right after an opening bracket
    /// (or a `:` that opens a Python block), when nothing but closing brackets follows on the line.
    public var wantsMultipleLines: Bool {
        let after = lineSuffix.trimmingWhitespace()
        guard after.utf8.allSatisfy({ PostProcessor.closers.contains($0) }) else { return false }
        let before = linePrefix.trimmingWhitespace()
        guard let last = before.utf8.last else { return true }
        return last == UInt8(ascii: "{") || last == UInt8(ascii: "(") || last == UInt8(ascii: "[")
            || last == UInt8(ascii: ":")
    }
}

/// Turns raw model output into what the editor should insert.
public enum PostProcessor {
    static let openers: [UInt8] = Array("([{".utf8)
    static let closers: [UInt8] = Array(")]}".utf8)

    /// Rules for one completion.
    public struct Rules: Sendable, Equatable {
        public var multiLine: Bool
        /// Stop at a blank line once the text is back at bracket depth 0 (the end of a statement group).
        public var stopAtBlankLine: Bool = true
        public var maxLines: Int = 16
        /// Rules for single- or multi-line text.
        public init(multiLine: Bool, stopAtBlankLine: Bool = true, maxLines: Int = 16) {
            self.multiLine = multiLine
            self.stopAtBlankLine = stopAtBlankLine
            self.maxLines = maxLines
        }
    }

    /// The cleaned completion: cut at the end of the line or block, brackets kept balanced, text that
    /// repeats what follows the cursor dropped, trailing whitespace trimmed. Empty means "show nothing".
    public static func process(_ raw: String, context: CursorContext, rules: Rules) -> String {
        var bytes = Array(raw.utf8).filter { $0 != 0x0D }
        let scan = scanBlock(bytes, rules: rules, enclosing: context.openBrackets)
        bytes.removeSubrange(scan.end...)
        var text = String(decoding: bytes, as: UTF8.self)
        text = trimTrailingWhitespace(text)
        text = dropRepeatedSuffix(text, context: context)
        // Close the round and square brackets the completion opened when nothing follows on the line.
        // Braces stay open: a block is continued on the next line, not closed on this one.
        if context.lineSuffix.trimmingWhitespace().isEmpty && !text.contains("\n") {
            let stillOpen = scanBlock(Array(text.utf8), rules: rules, enclosing: []).open
            for opener in stillOpen.reversed() where opener != UInt8(ascii: "{") {
                text.unicodeScalars.append(Unicode.Scalar(closer(for: opener)))
            }
        }
        return trimTrailingWhitespace(text)
    }

    /// Where a completion should end, and the brackets it leaves open.
    ///
    /// A closing bracket that matches nothing ends the text, except that it may close a bracket opened
    /// before the cursor; in multi-line text a closer at the start of a line that closes the enclosing
    /// block ends the text before that line, because the document already has that line.
    static func scanBlock(_ bytes: [UInt8], rules: Rules, enclosing: [UInt8]) -> (end: Int, open: [UInt8]) {
        var stack: [UInt8] = []
        var outer = enclosing
        var quote: UInt8? = nil
        var inComment = false
        var lineStart = 0, atLineStart = true, lines = 1
        var previousLineBlank = false, sawContent = false
        var i = 0
        while i < bytes.count {
            let byte = bytes[i]
            if byte == 0x0A {
                if !rules.multiLine { return (i, stack) }
                let blank = bytes[lineStart..<i].allSatisfy(isWhitespace)
                if blank && previousLineBlank { return (trimBack(bytes, lineStart), stack) }
                if blank && rules.stopAtBlankLine && stack.isEmpty && sawContent { return (trimBack(bytes, lineStart), stack) }
                previousLineBlank = blank
                lines += 1
                if lines > rules.maxLines { return (i, stack) }
                quote = nil; inComment = false
                lineStart = i + 1; atLineStart = true
                i += 1
                continue
            }
            defer { i += 1 }
            if inComment { continue }
            if let open = quote {
                if byte == UInt8(ascii: "\\") { i += 1 } else if byte == open { quote = nil }
                continue
            }
            if isWhitespace(byte) { continue }
            let wasAtLineStart = atLineStart
            atLineStart = false
            sawContent = true
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "'"), UInt8(ascii: "`"):
                quote = byte
            case UInt8(ascii: "/") where i + 1 < bytes.count && bytes[i + 1] == UInt8(ascii: "/"):
                inComment = true
            case UInt8(ascii: "("), UInt8(ascii: "["), UInt8(ascii: "{"):
                stack.append(byte)
            case UInt8(ascii: ")"), UInt8(ascii: "]"), UInt8(ascii: "}"):
                if let top = stack.last {
                    if closer(for: top) == byte { stack.removeLast() } else { return (i, stack) }
                } else if rules.multiLine && wasAtLineStart {
                    return (trimBack(bytes, lineStart), stack)
                } else if let top = outer.last, closer(for: top) == byte {
                    outer.removeLast()
                } else {
                    return (i, stack)
                }
            default:
                break
            }
        }
        return (bytes.count, stack)
    }

    /// Brackets left open in `text` (strings and `//` comments skipped), innermost last.
    public static func openBrackets<C: Collection>(in text: C) -> [UInt8] where C.Element == UInt8 {
        var stack: [UInt8] = []
        var quote: UInt8? = nil
        var inComment = false
        var escaped = false
        var previous: UInt8 = 0
        for byte in text {
            defer { previous = byte }
            if byte == 0x0A { quote = nil; inComment = false; continue }
            if inComment { continue }
            if let open = quote {
                if escaped { escaped = false } else if byte == UInt8(ascii: "\\") { escaped = true } else if byte == open { quote = nil }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "'"), UInt8(ascii: "`"): quote = byte
            case UInt8(ascii: "/") where previous == UInt8(ascii: "/"): inComment = true
            case UInt8(ascii: "("), UInt8(ascii: "["), UInt8(ascii: "{"): stack.append(byte)
            case UInt8(ascii: ")"), UInt8(ascii: "]"), UInt8(ascii: "}"):
                // Tolerant: an unbalanced closer in the user's code pops whatever is open.
                if !stack.isEmpty { stack.removeLast() }
            default: break
            }
        }
        return stack
    }

    /// Removes the end of `text` that the document already has right after the cursor, and returns
    /// nothing when the whole completion only repeats what follows.
    static func dropRepeatedSuffix(_ text: String, context: CursorContext) -> String {
        guard !text.isEmpty else { return text }
        let rest = context.lineSuffix.trimmingWhitespace()
        let following = (context.lineSuffix + "\n" + context.followingText).trimmingLeadingWhitespace()
        let body = text.trimmingLeadingWhitespace()
        if !body.isEmpty && following.hasPrefix(body) { return "" }

        var result = text
        // Whole trailing lines that are the next lines of the document.
        if result.contains("\n") {
            var lines = result.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            let next = context.followingText.split(separator: "\n", omittingEmptySubsequences: false)
                .map { $0.trimmingWhitespace() }
            var k = min(lines.count - 1, next.count)
            while k > 0 {
                let tail = lines.suffix(k).map { $0.trimmingWhitespace() }
                if !tail.contains("") && Array(tail) == Array(next.prefix(k)) { break }
                k -= 1
            }
            if k > 0 { lines.removeLast(k); result = lines.joined(separator: "\n") }
        }
        // The longest end of the last line that the rest of the current line starts with, like a `)`.
        guard !rest.isEmpty else { return result }
        let resultBytes = Array(result.utf8), restBytes = Array(rest.utf8)
        var overlap = min(resultBytes.count, restBytes.count)
        while overlap > 0 {
            if resultBytes.suffix(overlap).elementsEqual(restBytes.prefix(overlap)) { break }
            overlap -= 1
        }
        guard overlap > 0 else { return result }
        return String(decoding: resultBytes.dropLast(overlap), as: UTF8.self)
    }

    /// Trailing spaces and tabs removed from every line, and trailing blank lines dropped.
    static func trimTrailingWhitespace(_ text: String) -> String {
        guard text.contains("\n") else { return text.trimmingTrailingWhitespace() }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { $0.trimmingTrailingWhitespace() }
        while lines.count > 1 && lines.last!.isEmpty { lines.removeLast() }
        return lines.joined(separator: "\n")
    }

    static func closer(for opener: UInt8) -> UInt8 {
        switch opener {
        case UInt8(ascii: "("): return UInt8(ascii: ")")
        case UInt8(ascii: "["): return UInt8(ascii: "]")
        default: return UInt8(ascii: "}")
        }
    }

    private static func isWhitespace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 }

    /// Moves an end index back over the newline that precedes a dropped line.
    private static func trimBack(_ bytes: [UInt8], _ index: Int) -> Int {
        index > 0 && bytes[index - 1] == 0x0A ? index - 1 : index
    }
}

extension StringProtocol {
    func trimmingWhitespace() -> String { trimmingLeadingWhitespace().trimmingTrailingWhitespace() }

    func trimmingLeadingWhitespace() -> String {
        String(drop { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" })
    }

    func trimmingTrailingWhitespace() -> String {
        var s = Substring(self)
        while let last = s.last, last == " " || last == "\t" || last == "\n" || last == "\r" { s.removeLast() }
        return String(s)
    }
}
