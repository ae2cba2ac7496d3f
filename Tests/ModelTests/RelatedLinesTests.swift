import Testing
@testable import Model

struct RelatedLinesTests {
    /// The related lines, best first and without indentation, for a cursor placed after `typed`
    /// characters on the line `lineNumber` (from 0) of `text`.
    func related(_ text: String, line lineNumber: Int, typed: Int) -> [String] {
        let bytes = Array(text.utf8)
        var lineStart = 0
        for _ in 0..<lineNumber { lineStart = bytes[lineStart...].firstIndex(of: 0x0A)! + 1 }
        var cursor = lineStart
        while bytes[cursor] == 0x20 { cursor += 1 }
        cursor += typed
        let lineEnd = bytes[lineStart...].firstIndex(of: 0x0A) ?? bytes.count
        let typedText = String(decoding: bytes[(cursor - typed)..<cursor], as: UTF8.self)
        return RelatedLines.continuations(in: bytes, lineStart: lineStart, cursor: cursor, excludedEnd: lineEnd)
            .map { typedText + String(decoding: $0.bytes, as: UTF8.self) }
    }

    @Test func linesThatBeginLikeTheTypedTextComeMostFrequentFirst() {
        let text = """
            XCTAssertEqual(a, 1)
            XCTAssertTrue(b)
            let x = 2
                XCTAssertEqual(c, 3)
            XCTAssertEqual(a, 1)
            XCTAss
            XCTAssertNil(d)
            """
        // Cursor after "XCTAss" on line 5: its own line is left out, indentation is dropped, the
        // twice-seen line comes first, then the others by byte distance from the cursor's line
        // (Nil is just below, True furthest up).
        #expect(related(text, line: 5, typed: 6) == ["XCTAssertEqual(a, 1)", "XCTAssertNil(d)", "XCTAssertEqual(c, 3)", "XCTAssertTrue(b)"])
    }

    @Test func nothingTypedOrNothingMatchingGivesNoLines() {
        let text = "let a = 1\n    \nlet b = 2\nvar c = 3\n"
        #expect(related(text, line: 1, typed: 0) == [])        // only indentation typed
        #expect(related(text, line: 3, typed: 3) == [])        // no other line starts with "var"
        #expect(related(text, line: 3, typed: 0) == [])        // cursor at the line's first character
    }

    @Test func linesNoLongerThanTheTypedTextAreLeftOut() {
        let text = "}\n}\nfunc f() {\n}\n"
        #expect(related(text, line: 3, typed: 1) == [])
        #expect(related("return\nreturn x\nre\n", line: 2, typed: 2) == ["return x", "return"])
    }

    @Test func theExcludedRangeAndTheLimitsHold() {
        let lines = (0..<40).map { "case .value\($0)" }
        let text = lines.joined(separator: "\n")
        let bytes = Array(text.utf8)
        // Cursor after "case ." on line 10; lines 10–12 are the completion's (excluded).
        let start10 = lines[..<10].reduce(0) { $0 + $1.utf8.count + 1 }
        let end12 = lines[..<13].reduce(0) { $0 + $1.utf8.count + 1 } - 1
        let got = RelatedLines.continuations(in: bytes, lineStart: start10, cursor: start10 + 6, excludedEnd: end12)
            .map { "case ." + String(decoding: $0.bytes, as: UTF8.self) }
        #expect(got.count == RelatedLines.maxLines)
        // All seen once: the six nearest by bytes, the nearest (line 9) first.
        #expect(!got.contains("case .value10") && !got.contains("case .value11") && !got.contains("case .value12"))
        #expect(Set(got) == ["case .value6", "case .value7", "case .value8", "case .value9", "case .value13", "case .value14"])
        #expect(got.first == "case .value9")
    }

    /// Continuations: what the ranked lines say after the typed text, with their share of all related
    /// lines (repeats counted, lines past the limit too).
    @Test func continuationsCarryTheFilesShares() {
        let text = "return a\nreturn b\nreturn a\nreturn c\nret\nreturn a\n"
        let bytes = Array(text.utf8)
        let lineStart = Array("return a\nreturn b\nreturn a\nreturn c\n".utf8).count
        let all = RelatedLines.continuations(in: bytes, lineStart: lineStart, cursor: lineStart + 3, excludedEnd: lineStart + 3)
        #expect(all.map { String(decoding: $0.bytes, as: UTF8.self) } == ["urn a", "urn c", "urn b"])
        #expect(all.map(\.share) == [0.6, 0.2, 0.2])
        let one = RelatedLines.continuations(in: bytes, lineStart: lineStart, cursor: lineStart + 3, excludedEnd: lineStart + 3, limit: 1)
        #expect(one == [LineCandidate(bytes: Array("urn a".utf8), share: 0.6)])
    }

    /// In a file larger than the search window, only lines near the cursor count.
    @Test func aHugeFileIsSearchedAroundTheCursor() {
        let filler = String(repeating: "let filler = 0\n", count: RelatedLines.maxScanBytes / 15 + 10)
        let text = "return far\n" + filler + "return near\n" + "ret\n" + filler + "return far\n"
        let bytes = Array(text.utf8)
        let lineStart = Array(("return far\n" + filler + "return near\n").utf8).count
        let found = RelatedLines.continuations(in: bytes, lineStart: lineStart, cursor: lineStart + 3, excludedEnd: lineStart + 3)
        #expect(found == [LineCandidate(bytes: Array("urn near".utf8), share: 1)])
    }
}
