/// An open document: its UTF-8 bytes, line table and version, with exact position conversion.
///
/// Lines end at `\n`, `\r\n` or a lone `\r`, as the spec says. Positions count UTF-16 code units
/// or UTF-8 bytes (whichever was negotiated) within a line's text, not counting its line ending.
public struct TextDocument: Sendable, Equatable {
    public let uri: DocumentURI
    public let languageId: String
    public private(set) var version: Int
    /// The text as UTF-8; the model and the prompt code work on bytes.
    public private(set) var bytes: [UInt8]
    /// Byte offset where each line starts; never empty (an empty document has one empty line).
    public private(set) var lineStarts: [Int]

    /// A document holding `text`.
    public init(uri: DocumentURI, languageId: String, version: Int, text: String) {
        self.uri = uri
        self.languageId = languageId
        self.version = version
        bytes = Array(text.utf8)
        lineStarts = Self.lineStarts(of: bytes)
    }

    /// The whole text.
    public var text: String { String(decoding: bytes, as: UTF8.self) }

    /// Number of lines (a trailing line ending starts one more, empty line).
    public var lineCount: Int { lineStarts.count }

    // MARK: - Lines

    /// The byte range of line `line`'s text, without its line ending.
    public func lineContent(_ line: Int) -> Swift.Range<Int> {
        let start = lineStarts[line]
        var end = line + 1 < lineStarts.count ? lineStarts[line + 1] : bytes.count
        if end > start && bytes[end - 1] == 0x0A { end -= 1 }
        if end > start && bytes[end - 1] == 0x0D { end -= 1 }
        return start..<end
    }

    /// The line that holds byte `offset` (a line ending belongs to the line it ends).
    public func line(containing offset: Int) -> Int {
        var low = 0, high = lineStarts.count - 1
        while low < high {
            let mid = (low + high + 1) / 2
            if lineStarts[mid] <= offset { low = mid } else { high = mid - 1 }
        }
        return low
    }

    // MARK: - Positions

    /// The byte offset of `position`.
    ///
    /// Out-of-range positions clamp as the spec asks: a line past the last one means the end of
    /// the document, a character past the line's end means the line's end. A character inside a
    /// code point (the second half of a surrogate pair, a byte inside a UTF-8 sequence) moves back
    /// to the start of that code point, so an edit never splits a character.
    public func offset(of position: Position, encoding: PositionEncoding) -> Int {
        guard position.line >= 0 else { return 0 }
        guard position.line < lineStarts.count else { return bytes.count }
        let content = lineContent(position.line)
        var remaining = max(0, position.character)
        var i = content.lowerBound
        while i < content.upperBound && remaining > 0 {
            let length = Self.sequenceLength(bytes[i])
            let units: Int
            switch encoding {
            case .utf8: units = length
            case .utf16: units = length == 4 ? 2 : 1
            case .utf32: units = 1
            }
            if units > remaining { break }
            remaining -= units
            i = min(content.upperBound, i + length)
        }
        return i
    }

    /// The position of byte `offset` (clamped to the document).
    public func position(of offset: Int, encoding: PositionEncoding) -> Position {
        let offset = min(max(0, offset), bytes.count)
        let line = line(containing: offset)
        let content = lineContent(line)
        let end = min(offset, content.upperBound)
        var character = 0
        var i = content.lowerBound
        while i < end {
            let length = Self.sequenceLength(bytes[i])
            switch encoding {
            case .utf8: character += min(length, end - i)
            case .utf16: character += length == 4 ? 2 : 1
            case .utf32: character += 1
            }
            i += length
        }
        return Position(line: line, character: character)
    }

    /// The byte range of `range`; a reversed range is read as the positions in order.
    public func offsets(of range: LSPRange, encoding: PositionEncoding) -> Swift.Range<Int> {
        let a = offset(of: range.start, encoding: encoding), b = offset(of: range.end, encoding: encoding)
        return min(a, b)..<max(a, b)
    }

    /// The LSP range of the bytes `range`.
    public func range(of range: Swift.Range<Int>, encoding: PositionEncoding) -> LSPRange {
        LSPRange(start: position(of: range.lowerBound, encoding: encoding),
                 end: position(of: range.upperBound, encoding: encoding))
    }

    // MARK: - Edits

    /// Applies one `didChange` event: a range replaces that range, no range replaces everything.
    public mutating func apply(_ change: TextDocumentContentChangeEvent, encoding: PositionEncoding) {
        guard let range = change.range else {
            bytes = Array(change.text.utf8)
            lineStarts = Self.lineStarts(of: bytes)
            return
        }
        replace(offsets(of: range, encoding: encoding), with: Array(change.text.utf8))
    }

    /// Replaces the bytes in `range` and updates the line table from the first touched line on.
    public mutating func replace(_ range: Swift.Range<Int>, with newBytes: [UInt8]) {
        bytes.replaceSubrange(range, with: newBytes)
        // A `\r` just before the edit may now pair with an inserted `\n`, so start one line earlier.
        let firstLine = max(0, line(containing: range.lowerBound) - 1)
        let scanFrom = lineStarts[firstLine]
        lineStarts.removeSubrange((firstLine + 1)...)
        Self.appendLineStarts(of: bytes, from: scanFrom, to: &lineStarts)
    }

    /// Records a new version number.
    public mutating func setVersion(_ version: Int) { self.version = version }

    // MARK: - Helpers

    static func lineStarts(of bytes: [UInt8]) -> [Int] {
        var starts = [0]
        appendLineStarts(of: bytes, from: 0, to: &starts)
        return starts
    }

    private static func appendLineStarts(of bytes: [UInt8], from start: Int, to starts: inout [Int]) {
        var i = start
        let count = bytes.count
        while i < count {
            let byte = bytes[i]
            if byte == 0x0A {
                starts.append(i + 1)
            } else if byte == 0x0D {
                if i + 1 < count && bytes[i + 1] == 0x0A { i += 1 }
                starts.append(i + 1)
            }
            i += 1
        }
    }

    /// Bytes in the UTF-8 sequence a lead byte starts (a stray continuation byte counts as one).
    static func sequenceLength(_ lead: UInt8) -> Int {
        switch lead {
        case 0xF0...: return 4
        case 0xE0...: return 3
        case 0xC0...: return 2
        default: return 1
        }
    }
}
