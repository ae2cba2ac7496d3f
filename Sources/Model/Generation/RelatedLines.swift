/// In-file retrieval: the lines of the document that begin like the line being typed.
///
/// A prompt covers a few hundred tokens around the cursor, but code repeats itself across a file
/// (`XCTAssertEqual(` a hundred lines up, the same `case .` list in another switch). The lines
/// elsewhere in the file whose text, after indentation, starts with what is typed on the cursor's line
/// give candidate lines (`continuations`), which the language server weighs with the model
/// (`InferenceContext.mostLikelyLine`). Showing them to the model in the prompt instead made a
/// 2.6M-parameter model's own lines worse (models/README.md), so prompts do not carry them.
///
/// Ranking: lines that occur more often first, then lines nearer the cursor. Nothing typed (only
/// indentation) → no candidates: every line would match.
public enum RelatedLines {
    /// Most candidate lines.
    public static let maxLines = 6
    /// Lines longer than this are left out (generated tables, minified code).
    static let maxLineBytes = 160
    /// Bytes of the file searched, centred on the cursor's line (the whole of any ordinary source file).
    static let maxScanBytes = 1 << 20

    /// What the best `limit` related lines say after the typed text, best first, each with its share of
    /// all the related lines (counting repeats): candidate completions of the cursor's line and how
    /// often the file continues that way (see `InferenceContext.mostLikelyLine`).
    public static func continuations(in document: [UInt8], lineStart: Int, cursor: Int, excludedEnd: Int,
                                     limit: Int = maxLines) -> [LineCandidate] {
        let (lines, typed) = rankedLines(in: document, lineStart: lineStart, cursor: cursor, excludedEnd: excludedEnd)
        let total = Double(lines.reduce(0) { $0 + $1.count })
        return lines.prefix(limit).map { LineCandidate(bytes: Array($0.text.dropFirst(typed)), share: Double($0.count) / total) }
    }

    /// The distinct related lines (without indentation or trailing blanks) with how often each occurs,
    /// best first, and the length of the typed text they all begin with.
    static func rankedLines(in document: [UInt8], lineStart: Int, cursor: Int, excludedEnd: Int)
        -> (lines: [(text: ArraySlice<UInt8>, count: Int)], typed: Int) {
        precondition(0 <= lineStart && lineStart <= cursor && cursor <= document.count, "cursor outside the document")
        var typedStart = lineStart
        while typedStart < cursor && isIndentation(document[typedStart]) { typedStart += 1 }
        guard typedStart < cursor else { return ([], 0) }
        let typed = document[typedStart..<cursor]

        var found: [ArraySlice<UInt8>: (count: Int, distance: Int)] = [:]
        // A huge file (a log, generated data) is searched only around the cursor, so a keystroke stays cheap.
        var start = max(0, lineStart - maxScanBytes / 2)
        if start > 0 { start = (document[(start - 1)...].firstIndex(of: 0x0A) ?? document.count) + 1 }
        let scanEnd = min(document.count, lineStart + maxScanBytes / 2)
        while start < scanEnd {
            let newline = document[start...].firstIndex(of: 0x0A) ?? document.count
            defer { start = newline + 1 }
            if start >= lineStart && start < max(excludedEnd, lineStart + 1) { continue }
            var textStart = start
            while textStart < newline && isIndentation(document[textStart]) { textStart += 1 }
            var textEnd = newline
            while textEnd > textStart && isTrailingBlank(document[textEnd - 1]) { textEnd -= 1 }
            // Only lines that say more than what is typed help.
            guard textEnd - textStart > typed.count, textEnd - textStart <= maxLineBytes,
                  document[textStart...].starts(with: typed) else { continue }
            let line = document[textStart..<textEnd]
            let distance = abs(start - lineStart)
            if let seen = found[line] {
                found[line] = (seen.count + 1, min(seen.distance, distance))
            } else {
                found[line] = (1, distance)
            }
        }
        let ranked = found.sorted { a, b in
            if a.value.count != b.value.count { return a.value.count > b.value.count }
            if a.value.distance != b.value.distance { return a.value.distance < b.value.distance }
            return a.key.lexicographicallyPrecedes(b.key)
        }
        return (ranked.map { ($0.key, $0.value.count) }, typed.count)
    }

    /// The continuations for a cursor between `prefix` and `suffix`; the cursor's line is not taken.
    public static func continuations(prefix: some Collection<UInt8>, suffix: some Collection<UInt8>,
                                     limit: Int = maxLines) -> [LineCandidate] {
        let (document, lineStart, lineEnd) = cursorLine(prefix: prefix, suffix: suffix)
        return continuations(in: document, lineStart: lineStart, cursor: prefix.count, excludedEnd: lineEnd, limit: limit)
    }

    static func cursorLine(prefix: some Collection<UInt8>, suffix: some Collection<UInt8>)
        -> (document: [UInt8], lineStart: Int, lineEnd: Int) {
        let document = Array(prefix) + Array(suffix)
        let lineStart = (document[..<prefix.count].lastIndex(of: 0x0A).map { $0 + 1 }) ?? 0
        let lineEnd = document[prefix.count...].firstIndex(of: 0x0A) ?? document.count
        return (document, lineStart, lineEnd)
    }

    static func isIndentation(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 }
    static func isTrailingBlank(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0D }
}

/// A candidate completion of the cursor's line taken from the file, and the share of the file's related
/// lines that continue this way.
public struct LineCandidate: Sendable, Equatable {
    public var bytes: [UInt8]
    public var share: Double

    public init(bytes: [UInt8], share: Double) {
        self.bytes = bytes
        self.share = share
    }

    /// The weight of the file's own statistics against the model's in `InferenceContext.mostLikelyLine`
    /// (chosen beforehand; 0.2–0.8 measured alike, models/README.md).
    public static let fileWeight = 0.5
}
