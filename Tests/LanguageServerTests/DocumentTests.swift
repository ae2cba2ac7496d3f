import Testing

@testable import LanguageServer

extension LanguageServerModuleTests {
    @Suite struct PositionTests {
        // "a😀b" — the emoji is 4 UTF-8 bytes and a UTF-16 surrogate pair.
        let emoji = TextDocument(uri: "u", languageId: "swift", version: 1, text: "a😀b\nx")

        @Test func utf16SurrogatePairs() {
            let d = emoji
            #expect(d.offset(of: Position(line: 0, character: 0), encoding: .utf16) == 0)
            #expect(d.offset(of: Position(line: 0, character: 1), encoding: .utf16) == 1)
            // Inside the pair: moves back to the start of the emoji, never splits it.
            #expect(d.offset(of: Position(line: 0, character: 2), encoding: .utf16) == 1)
            #expect(d.offset(of: Position(line: 0, character: 3), encoding: .utf16) == 5)
            #expect(d.offset(of: Position(line: 0, character: 4), encoding: .utf16) == 6)
            #expect(d.position(of: 5, encoding: .utf16) == Position(line: 0, character: 3))
            #expect(d.position(of: 6, encoding: .utf16) == Position(line: 0, character: 4))
            #expect(d.position(of: 7, encoding: .utf16) == Position(line: 1, character: 0))
        }

        @Test func utf8AndUtf32Counting() {
            let d = emoji
            #expect(d.offset(of: Position(line: 0, character: 5), encoding: .utf8) == 5)
            #expect(d.offset(of: Position(line: 0, character: 3), encoding: .utf8) == 1)  // inside the emoji
            #expect(d.position(of: 5, encoding: .utf8) == Position(line: 0, character: 5))
            #expect(d.offset(of: Position(line: 0, character: 2), encoding: .utf32) == 5)
            #expect(d.position(of: 6, encoding: .utf32) == Position(line: 0, character: 3))
        }

        @Test func everyOffsetRoundTrips() {
            let d = TextDocument(uri: "u", languageId: "swift", version: 1, text: "é𝄞z\r\nq\rw\n\nend😀")
            for encoding in [PositionEncoding.utf8, .utf16, .utf32] {
                var offset = 0
                while offset <= d.bytes.count {
                    let p = d.position(of: offset, encoding: encoding)
                    let back = d.offset(of: p, encoding: encoding)
                    let inLineEnding = offset > d.lineContent(p.line).upperBound
                    if !inLineEnding && (offset == d.bytes.count || d.bytes[offset] & 0xC0 != 0x80) {
                        #expect(back == offset, "\(encoding) offset \(offset) -> \(p) -> \(back)")
                    }
                    offset += 1
                }
            }
        }

        @Test func lineEndingsCRLFAndLoneCR() {
            let d = TextDocument(uri: "u", languageId: "swift", version: 1, text: "ab\r\ncd\ref\n")
            #expect(d.lineCount == 4)
            #expect(d.lineStarts == [0, 4, 7, 10])
            #expect(d.lineContent(0) == 0..<2)
            #expect(d.lineContent(1) == 4..<6)
            // A character past the end of a CRLF line clamps before the \r.
            #expect(d.offset(of: Position(line: 0, character: 99), encoding: .utf16) == 2)
            #expect(d.offset(of: Position(line: 1, character: 2), encoding: .utf16) == 6)
            #expect(d.position(of: 3, encoding: .utf16) == Position(line: 0, character: 2))  // between \r and \n
        }

        @Test func outOfRangeClamps() {
            let d = TextDocument(uri: "u", languageId: "swift", version: 1, text: "one\ntwo")
            #expect(d.offset(of: Position(line: 0, character: 50), encoding: .utf16) == 3)
            #expect(d.offset(of: Position(line: 7, character: 0), encoding: .utf16) == 7)  // past the last line: the end
            #expect(d.offset(of: Position(line: -1, character: 2), encoding: .utf16) == 0)
            #expect(d.offset(of: Position(line: 1, character: -4), encoding: .utf16) == 4)
            #expect(d.position(of: 100, encoding: .utf16) == Position(line: 1, character: 3))
        }
    }

    @Suite struct DocumentStoreTests {
        func change(_ uri: String, _ version: Int, _ range: LSPRange?, _ text: String) -> DidChangeTextDocumentParams {
            DidChangeTextDocumentParams(textDocument: .init(uri: uri, version: version),
                                        contentChanges: [TextDocumentContentChangeEvent(range: range, text: text)])
        }

        func range(_ l1: Int, _ c1: Int, _ l2: Int, _ c2: Int) -> LSPRange {
            LSPRange(start: Position(line: l1, character: c1), end: Position(line: l2, character: c2))
        }

        @Test func incrementalEditsMatchAReferenceApply() throws {
            var store = DocumentStore()
            store.open(TextDocumentItem(uri: "f", languageId: "swift", version: 1, text: "let a = 1\nlet 😀 = 2\n"))
            try store.change(change("f", 2, range(0, 4, 0, 5), "alpha"), encoding: .utf16)
            #expect(store["f"]?.text == "let alpha = 1\nlet 😀 = 2\n")
            // Replace the emoji (2 UTF-16 units) and join the lines.
            try store.change(change("f", 3, range(1, 4, 1, 6), "b"), encoding: .utf16)
            #expect(store["f"]?.text == "let alpha = 1\nlet b = 2\n")
            try store.change(change("f", 4, range(0, 13, 1, 0), " "), encoding: .utf16)
            #expect(store["f"]?.text == "let alpha = 1 let b = 2\n")
            #expect(store["f"]?.lineStarts == [0, 24])
            // Several changes in one notification apply in order.
            let params = DidChangeTextDocumentParams(textDocument: .init(uri: "f", version: 5), contentChanges: [
                TextDocumentContentChangeEvent(range: range(1, 0, 1, 0), text: "x\r"),
                TextDocumentContentChangeEvent(range: range(2, 0, 2, 0), text: "\ny"),
            ])
            try store.change(params, encoding: .utf16)
            #expect(store["f"]?.text == "let alpha = 1 let b = 2\nx\r\ny")
            #expect(store["f"]?.lineStarts == [0, 24, 27])
            #expect(store["f"]?.version == 5)
        }

        @Test func fullReplacementAndLineTable() throws {
            var store = DocumentStore()
            store.open(TextDocumentItem(uri: "f", languageId: "swift", version: 1, text: "a"))
            try store.change(change("f", 2, nil, "x\ny\r\nz"), encoding: .utf8)
            #expect(store["f"]?.text == "x\ny\r\nz")
            #expect(store["f"]?.lineStarts == TextDocument.lineStarts(of: Array("x\ny\r\nz".utf8)))
        }

        @Test func randomEditsKeepTheLineTableExact() throws {
            var generator = SystemRandomNumberGenerator()
            var document = TextDocument(uri: "f", languageId: "swift", version: 1, text: "")
            var reference: [UInt8] = []
            let pieces = ["a", "\n", "\r", "\r\n", "😀", "é", "  ", "{}", ""]
            for _ in 0..<500 {
                let a = Int.random(in: 0...reference.count, using: &generator)
                let b = Int.random(in: a...min(reference.count, a + 4), using: &generator)
                let text = (0..<Int.random(in: 0...3, using: &generator)).map { _ in pieces.randomElement(using: &generator)! }.joined()
                // Keep edits on character boundaries, as real clients do.
                guard a == reference.count || reference[a] & 0xC0 != 0x80, b == reference.count || reference[b] & 0xC0 != 0x80 else { continue }
                document.replace(a..<b, with: Array(text.utf8))
                reference.replaceSubrange(a..<b, with: Array(text.utf8))
                #expect(document.bytes == reference)
                #expect(document.lineStarts == TextDocument.lineStarts(of: reference))
            }
        }

        @Test func unknownDocumentsAreReportedNotFatal() {
            var store = DocumentStore()
            #expect(throws: DocumentError.unknownDocument("nope", method: "textDocument/didChange")) {
                try store.change(change("nope", 1, nil, "x"), encoding: .utf16)
            }
            #expect(throws: DocumentError.unknownDocument("nope", method: "textDocument/didClose")) {
                try store.close("nope")
            }
            #expect(store.count == 0)
        }

        @Test func recencyOrdersNeighbours() throws {
            var store = DocumentStore()
            for uri in ["a", "b", "c"] { store.open(TextDocumentItem(uri: uri, languageId: "swift", version: 1, text: "")) }
            try store.change(change("a", 2, nil, "x"), encoding: .utf16)
            #expect(store.byRecency.map(\.uri) == ["a", "c", "b"])
            try store.close("c")
            #expect(store.byRecency.map(\.uri) == ["a", "b"])
        }
    }
}
