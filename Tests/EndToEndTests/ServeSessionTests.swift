import Foundation
import TestFixtures
import Testing

/// A whole editor session against the built binary over pipes, keeping a client-side copy of the
/// document and checking that the server's copy agrees after incremental edits and an applied code action.
struct ServeSessionTests {
    let uri = "file:///e2e/shapes.swift"

    /// The client's copy of the document, edited with LSP (UTF-16) positions exactly as an editor would.
    struct Mirror {
        var text: String

        func offset(_ line: Int, _ character: Int) -> Int {
            let units = Array(text.utf16)
            var start = 0, current = 0
            while current < line, let newline = units[start...].firstIndex(of: 10) { start = newline + 1; current += 1 }
            return start + character
        }

        mutating func replace(_ start: (Int, Int), _ end: (Int, Int), with newText: String) {
            var units = Array(text.utf16)
            units.replaceSubrange(offset(start.0, start.1)..<offset(end.0, end.1), with: Array(newText.utf16))
            text = String(decoding: units, as: UTF16.self)
        }

        var lineLengths: [Int] { text.split(separator: "\n", omittingEmptySubsequences: false).map { $0.utf16.count } }
    }

    func pos(_ line: Int, _ character: Int) -> [String: Any] { ["line": line, "character": character] }
    func range(_ start: (Int, Int), _ end: (Int, Int)) -> [String: Any] { ["start": pos(start.0, start.1), "end": pos(end.0, end.1)] }

    @Test func wholeSessionOverPipes() throws {
        let model = Fixtures.lettersModelPath
        let server = try ServeProcess(arguments: ["--model", model, "--threads", "1", "--log-level", "debug"])
        defer { server.terminateIfRunning() }
        var next = 1
        func call(_ method: String, _ params: Any) throws -> Any {
            next += 1
            try server.request(next, method, params)
            return try server.result(next)
        }

        let resolving = ["textDocument": ["codeAction": ["resolveSupport": ["properties": ["edit"]]]]]
        let initialize = try call("initialize", ["processId": NSNull(), "capabilities": resolving,
                                                 "initializationOptions": ["maxTokens": 8, "contextTokens": 200,
                                                                           "timeBudgetMs": 20_000, "threads": 1]]) as? [String: Any]
        let capabilities = try #require(initialize?["capabilities"] as? [String: Any])
        #expect(capabilities["positionEncoding"] as? String == "utf-16")
        #expect(capabilities["inlineCompletionProvider"] as? Bool == true)
        try server.notify("initialized", [:] as [String: Any])

        var mirror = Mirror(text: "struct Square {\n    var side: Int\n    func area() -> Int {}\n}\n// 😀 done\n")
        try server.notify("textDocument/didOpen", ["textDocument": ["uri": uri, "languageId": "swift", "version": 1,
                                                                    "text": mirror.text]])
        // Incremental edits: an insertion, a replacement across a surrogate pair, a deletion, a new line.
        let edits: [((Int, Int), (Int, Int), String)] = [
            ((1, 17), (1, 17), "\n    var name: String"),
            ((5, 3), (5, 5), "🎉🎉"),
            ((0, 7), (0, 13), "Box"),
            ((3, 24), (3, 24), "side * side"),
            ((4, 1), (4, 1), "\n\nfunc make"),
        ]
        for (version, edit) in edits.enumerated() {
            mirror.replace(edit.0, edit.1, with: edit.2)
            try server.notify("textDocument/didChange", ["textDocument": ["uri": uri, "version": version + 2],
                                                         "contentChanges": [["range": range(edit.0, edit.1), "text": edit.2]]])
        }
        #expect(mirror.text == "struct Box {\n    var side: Int\n    var name: String\n    func area() -> Int {side * side}\n}\n\nfunc make\n// 🎉🎉 done\n")

        // Inline completion at the end of `func make`: letters, at an empty range at the cursor.
        let inline = try call("textDocument/inlineCompletion", ["textDocument": ["uri": uri], "position": pos(6, 9),
                                                                "context": ["triggerKind": 2]]) as? [String: Any]
        let items = try #require(inline?["items"] as? [[String: Any]])
        #expect(items.count == 1)
        let insert = try #require(items.first?["insertText"] as? String)
        #expect(!insert.isEmpty && insert.allSatisfy { $0.isLowercase })
        #expect(NSDictionary(dictionary: items[0]["range"] as? [String: Any] ?? [:]).isEqual(to: range((6, 9), (6, 9))))

        // Completion: the item's textEdit replaces the word being typed ("make") with the word plus the completion.
        let completion = try call("textDocument/completion", ["textDocument": ["uri": uri], "position": pos(6, 9)]) as? [String: Any]
        #expect(completion?["isIncomplete"] as? Bool == true)
        let completionItem = try #require((completion?["items"] as? [[String: Any]])?.first)
        let textEdit = try #require(completionItem["textEdit"] as? [String: Any])
        #expect(NSDictionary(dictionary: textEdit["range"] as? [String: Any] ?? [:]).isEqual(to: range((6, 5), (6, 9))))
        #expect((textEdit["newText"] as? String)?.hasPrefix("make") == true)

        // Code action on a selection of `side * side`, then resolve and apply the returned WorkspaceEdit.
        let actions = try call("textDocument/codeAction", ["textDocument": ["uri": uri], "range": range((3, 24), (3, 35)),
                                                           "context": ["diagnostics": [] as [Any]]]) as? [[String: Any]]
        let titles = (actions ?? []).compactMap { $0["title"] as? String }
        #expect(titles.contains("Fill in selection") && titles.contains("Continue from here"))
        let fill = try #require(actions?.first { $0["title"] as? String == "Fill in selection" })
        #expect(fill["edit"] == nil)
        let resolved = try #require(try call("codeAction/resolve", fill) as? [String: Any])
        let changes = try #require((resolved["edit"] as? [String: Any])?["changes"] as? [String: Any])
        let textEdits = try #require(changes[uri] as? [[String: Any]])
        #expect(changes.count == 1 && textEdits.count == 1)
        let editRange = try #require(textEdits[0]["range"] as? [String: Any])
        #expect(NSDictionary(dictionary: editRange).isEqual(to: range((3, 24), (3, 35))))
        let newText = try #require(textEdits[0]["newText"] as? String)
        #expect(!newText.isEmpty && newText.allSatisfy { $0.isLowercase })
        // Apply it as the editor does: to the client's copy, then tell the server with an incremental change.
        mirror.replace((3, 24), (3, 35), with: newText)
        #expect(mirror.text.contains("func area() -> Int {\(newText)}\n}"))
        try server.notify("textDocument/didChange", ["textDocument": ["uri": uri, "version": 20],
                                                     "contentChanges": [["range": range((3, 24), (3, 35)), "text": newText]]])

        // The server's copy agrees line by line: a position past the end of a line clamps to its end,
        // which the completion's textEdit range reports.
        for (line, length) in mirror.lineLengths.enumerated() {
            let answer = try call("textDocument/completion", ["textDocument": ["uri": uri], "position": pos(line, 10_000)]) as? [String: Any]
            let item = (answer?["items"] as? [[String: Any]])?.first
            let end = ((item?["textEdit"] as? [String: Any])?["range"] as? [String: Any])?["end"] as? [String: Any]
            #expect(end?["line"] as? Int == line && end?["character"] as? Int == length, "line \(line)")
        }

        #expect(try call("shutdown", NSNull()) is NSNull)
        try server.notify("exit")
        #expect(server.waitForExit() == 0)
        #expect(server.problems.isEmpty, "\(server.problems)")
        // Nothing but responses and logging notifications came back.
        let methods = Set(server.messages.compactMap { $0["method"] as? String })
        #expect(methods.isSubset(of: ["window/logMessage", "window/showMessage", "$/logTrace"]), "\(methods)")
        #expect(server.stderr.contains("info: initialized") && server.stderr.contains("debug: "), "\(server.stderr.prefix(500))")
    }
}
