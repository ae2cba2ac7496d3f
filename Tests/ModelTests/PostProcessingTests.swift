import Testing

@testable import Model

@Suite struct PostProcessingTests {
    /// The processed completion of `raw` at a cursor after `before`, with `after` on the rest of its line
    /// and `following` below: the document is `before` + cursor + `after` + "\n" + `following`.
    func run(_ raw: String, before: String, after: String = "", following: String = "", multiLine: Bool = false,
             language: String = "swift") -> String {
        let input = CompletionInput(uri: "f", languageId: language, prefix: Array(before.utf8),
                                    suffix: Array((after + "\n" + following).utf8))
        return PostProcessor.process(raw, context: input.cursorContext, rules: .init(multiLine: multiLine))
    }

    @Test func aLoopIsCutBackToItsFirstRound() {
        #expect(PostProcessor.trimmingLoop(#", "a", "a", "a", "a", "a", "a""#) == #", "a""#)
        // The unit may start anywhere in the run: the cut keeps what came before it and one round.
        #expect(PostProcessor.trimmingLoop("foo(0, 1, 1, 1, 1, 1, 1") == "foo(0, 1")
        #expect(PostProcessor.trimmingLoop(": Int, to: Int, to: Int, to: Int, to: Int") == ": Int, to: Int")
        // Not a loop: fewer than four rounds, one repeated character, or nothing repeated.
        #expect(PostProcessor.trimmingLoop("a, b, b, b") == "a, b, b, b")
        #expect(PostProcessor.trimmingLoop("//===--------------------------------") == "//===--------------------------------")
        #expect(PostProcessor.trimmingLoop("value + 1") == "value + 1")
        #expect(PostProcessor.trimmingLoop("") == "")
    }

    @Test func singleLineStopsAtTheLineEndAndTrims() {
        #expect(run("value + 1   \nnext line", before: "let x = ") == "value + 1")
        #expect(run("abc\r\ndef", before: "x") == "abc")
    }

    @Test func dropsWhatTheLineAlreadyHas() {
        // The closing parenthesis after the cursor is not repeated.
        #expect(run("a, b)", before: "foo(", after: ")") == "a, b")
        #expect(run("x]) {", before: "if f(a[", after: "]) {") == "x")
        // A completion that only repeats the following text shows nothing.
        #expect(run("return y", before: "    ", after: "", following: "    return y\n}", multiLine: true) == "")
        // Only whole lines are repeats: the "e" that finishes "rais" is not the next line's "except".
        #expect(run("e", before: "        rais", following: "    except ValueError:\n") == "e")
    }

    /// A multi-line completion that continues the cursor's line may first close a bracket opened before
    /// the cursor: that closer is not at the start of a line, so it does not end the block.
    @Test func theFirstLineContinuesTheCursorsLine() {
        #expect(run("):\n    pass", before: "if not inner.done(", multiLine: true) == "):\n    pass")
        // On a line of its own, a closer of the enclosing block ends the text before it when the
        // document already closes that block...
        #expect(run("}\nfunc g() {", before: "func f() {\n", following: "}\n", multiLine: true) == "")
        // ...and is the completion when the document lacks it, even above the outer block's closer.
        #expect(run("    }\n\nfunc g() {", before: "struct S {\n    func f() {\n        a()\n", following: "}\n",
                    multiLine: true) == "    }")
    }

    /// In a line comment brackets are prose: nothing is cut or closed on the comment's line.
    @Test func bracketsInALineCommentAreText() {
        #expect(run("9]", before: "///     // [7, 8, ") == "9]")
        #expect(run("isWhitespace)", before: "///     myString.trimPrefix(while: \\.") == "isWhitespace)")
        #expect(run("see f(x", before: "# note: ", language: "python") == "see f(x")
        #expect(PostProcessor.endsInLineComment("let s = \"//\" + x", marker: "//") == false)
        #expect(PostProcessor.endsInLineComment("x = 1  # (", marker: "#"))
    }

    /// A line that ends on an opener or a `\"\"\"` goes on over the next lines: nothing is closed.
    @Test func aLineEndingOpenIsNotClosed() {
        #expect(run("ge(", before: "        failureMessa") == "ge(")
        #expect(run("ertEqual(html, \"\"\"", before: "        XCTAss") == "ertEqual(html, \"\"\"")
        #expect(run("print(foo(1", before: "    ") == "print(foo(1))")
    }

    @Test func keepsBracketsBalanced() {
        // Closes parentheses it opened when the line is otherwise empty after the cursor.
        #expect(run("print(foo(1", before: "    ") == "print(foo(1))")
        // A mismatched closer ends the text there (and the parenthesis it left open is closed).
        #expect(run("a(b]c", before: "x = ") == "a(b)")
        #expect(run("a(b]c", before: "x = ", after: ";") == "a(b")
        // A closer may close what the prefix opened.
        #expect(run("1, 2)", before: "call(") == "1, 2)")
        // But not something that was never opened.
        #expect(run("1, 2) + z", before: "x = ") == "1, 2")
        // An opening brace stays open: the block continues on the next line.
        #expect(run("if ready {", before: "") == "if ready {")
    }

    @Test func multiLineStopsAtTheBlockEnd() {
        let raw = "    let y = 2\n    return y\n}\n\nfunc other() {"
        #expect(run(raw, before: "func f() {\n", following: "}\n", multiLine: true) == "    let y = 2\n    return y")
        // A blank line at depth 0 ends a statement group.
        #expect(run("a()\nb()\n\nc()", before: "", multiLine: true) == "a()\nb()")
        // Nested blocks inside the completion are kept whole.
        let nested = "    if a {\n        b()\n    }\n    c()\n}"
        #expect(run(nested, before: "func f() {\n", following: "}\n", multiLine: true) == "    if a {\n        b()\n    }\n    c()")
    }

    @Test func multiLineDropsTrailingLinesTheDocumentHas() {
        let raw = "    let y = 2\n    return y"
        #expect(run(raw, before: "func f() {\n", following: "    return y\n}", multiLine: true) == "    let y = 2")
    }

    @Test func bracketsInStringsAndCommentsDoNotCount() {
        #expect(run("print(\")\") // (", before: "") == "print(\")\") // (")
        #expect(PostProcessor.openBrackets(in: Array("f(\"(\", [1, // {\n".utf8)) == Array("([".utf8))
    }

    @Test func multiLineDecision() {
        #expect(CursorContext(linePrefix: "func f() {", lineSuffix: "").wantsMultipleLines)
        #expect(CursorContext(linePrefix: "    ", lineSuffix: "").wantsMultipleLines)
        #expect(CursorContext(linePrefix: "", lineSuffix: "}").wantsMultipleLines)
        #expect(CursorContext(linePrefix: "def f():", lineSuffix: "").wantsMultipleLines)
        #expect(!CursorContext(linePrefix: "let x = ", lineSuffix: "").wantsMultipleLines)
        #expect(!CursorContext(linePrefix: "    ", lineSuffix: "value)").wantsMultipleLines)
        // A `:` opens a block in Python only: in Swift it is an argument label or a type annotation.
        func input(_ line: String, _ language: String) -> CompletionInput {
            CompletionInput(uri: "f", languageId: language, prefix: Array(line.utf8), suffix: [])
        }
        #expect(input("def f():", "python").cursorContext.wantsMultipleLines)
        #expect(input("def f():", "python").wantsMultipleLines && !input("        expected:", "swift").wantsMultipleLines)
        #expect(!input("        expected:", "swift").cursorContext.wantsMultipleLines)
        // Nor in a comment that ends like a block opener.
        #expect(!input("    /// returns {", "swift").cursorContext.wantsMultipleLines)
    }
}

@Test func onlyIndentationBeforeTheCursorIsAfterIndentation() {
    #expect(CursorContext(linePrefix: "    ", lineSuffix: "").isAfterIndentation)
    #expect(CursorContext(linePrefix: "\t\t", lineSuffix: "").isAfterIndentation)
    #expect(!CursorContext(linePrefix: "", lineSuffix: "").isAfterIndentation)
    #expect(!CursorContext(linePrefix: "    x", lineSuffix: "").isAfterIndentation)
}
