import Testing

@testable import Model

@Suite struct PostProcessingTests {
    func run(_ raw: String, before: String, after: String = "", following: String = "", multiLine: Bool = false) -> String {
        let context = CursorContext(linePrefix: before.split(separator: "\n", omittingEmptySubsequences: false).last.map(String.init) ?? "",
                                    lineSuffix: after, followingText: following,
                                    openBrackets: PostProcessor.openBrackets(in: Array(before.utf8)))
        return PostProcessor.process(raw, context: context, rules: .init(multiLine: multiLine))
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
        // On a line of its own, a closer of the enclosing block still ends the text before it.
        #expect(run("}\nfunc g() {", before: "func f() {\n", multiLine: true) == "")
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
        #expect(run(raw, before: "func f() {\n", multiLine: true) == "    let y = 2\n    return y")
        // A blank line at depth 0 ends a statement group.
        #expect(run("a()\nb()\n\nc()", before: "", multiLine: true) == "a()\nb()")
        // Nested blocks inside the completion are kept whole.
        let nested = "    if a {\n        b()\n    }\n    c()\n}"
        #expect(run(nested, before: "func f() {\n", multiLine: true) == "    if a {\n        b()\n    }\n    c()")
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
    }
}
