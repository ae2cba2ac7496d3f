/// Another open file whose code may go into a prompt (the language server's other documents).
public struct NeighbourFile: Sendable, Equatable {
    /// The file's URI or path; its last component names it in the prompt.
    public var uri: String
    /// Changes whenever the text does (the client's document version).
    public var version: Int
    public var bytes: [UInt8]

    public init(uri: String, version: Int, bytes: [UInt8]) {
        self.uri = uri
        self.version = version
        self.bytes = bytes
    }
}

/// What one completion is asked about: the text on both sides of the cursor and the other open files.
public struct CompletionInput: Sendable {
    public var uri: String
    public var languageId: String
    /// Document bytes before the cursor.
    public var prefix: [UInt8]
    /// Document bytes after the cursor.
    public var suffix: [UInt8]
    /// Other open files, most recently used first; relevant chunks go into the prompt.
    public var neighbours: [NeighbourFile]

    /// An input.
    public init(uri: String, languageId: String, prefix: [UInt8], suffix: [UInt8], neighbours: [NeighbourFile] = []) {
        self.uri = uri
        self.languageId = languageId
        self.prefix = prefix
        self.suffix = suffix
        self.neighbours = neighbours
    }

    /// Languages whose blocks open with a `:` at the end of a line.
    static let colonBlockLanguages: Set<String> = ["python", "nim", "coffeescript"]

    /// The post-processing context of this cursor.
    public var cursorContext: CursorContext { context(readingBrackets: true) }

    /// Whether the editor would ask for several lines here (`CursorContext.wantsMultipleLines`): it
    /// needs only the cursor's line, so the brackets of the whole file are not read for it.
    public var wantsMultipleLines: Bool { context(readingBrackets: false).wantsMultipleLines }

    private func context(readingBrackets: Bool) -> CursorContext {
        let lineStart = (prefix.lastIndex(of: 0x0A).map { $0 + 1 }) ?? 0
        let lineEnd = suffix.firstIndex(of: 0x0A) ?? suffix.count
        var lineSuffix = suffix[..<lineEnd]
        if lineSuffix.last == 0x0D { lineSuffix = lineSuffix.dropLast() }
        let followingEnd = suffix.count > lineEnd ? min(suffix.count, lineEnd + 1 + 1024) : suffix.count
        let following = lineEnd < suffix.count ? suffix[(lineEnd + 1)..<followingEnd] : []
        // Up to 1 MiB on each side, as far as a large file is read around a cursor elsewhere (`RelatedLines`).
        let open = readingBrackets ? PostProcessor.openBrackets(in: prefix.suffix(1 << 20)) : []
        let linePrefix = String(decoding: prefix[lineStart...], as: UTF8.self)
        return CursorContext(
            linePrefix: linePrefix,
            lineSuffix: String(decoding: lineSuffix, as: UTF8.self),
            followingText: String(decoding: following, as: UTF8.self),
            openBrackets: open,
            unclosedBrackets: readingBrackets ? PostProcessor.unclosedCount(of: open, after: suffix.prefix(1 << 20)) : 0,
            inLineComment: PostProcessor.endsInLineComment(linePrefix, marker: ContextAssembler.commentMarker(for: languageId)),
            colonOpensBlock: Self.colonBlockLanguages.contains(languageId))
    }
}
