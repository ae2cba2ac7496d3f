import JSONRPC
import Testing

@testable import LanguageServer

extension LanguageServerModuleTests {
    @Suite struct CodeActionTests {
        let uri = "file:///shapes.swift"
        let text = "struct Square {\n    var side: Int\n    func area() -> Int {}\n}\n"
        /// A client that resolves an action's edit with `codeAction/resolve` (VS Code, Neovim).
        static let resolving: JSONValue = ["textDocument": ["codeAction": ["resolveSupport": ["properties": ["edit"]]]]]
        /// The same, accepting work-done progress.
        static let resolvingWithProgress: JSONValue = ["textDocument": ["codeAction": ["resolveSupport": ["properties": ["edit"]]]],
                                                       "window": ["workDoneProgress": true]]

        func actions(_ client: TestClient, _ start: JSONValue, _ end: JSONValue, only: [String]? = nil) async throws -> [JSONValue] {
            var context: JSONValue = ["diagnostics": []]
            if let only { context["only"] = .array(only.map { .string($0) }) }
            return try await client.request("textDocument/codeAction", [
                "textDocument": ["uri": .string(uri)], "range": ["start": start, "end": end], "context": context,
            ]).value().arrayValue ?? []
        }

        @Test func titlesComeBackAtOnceWithoutEdits() async throws {
            let client = TestClient()
            defer { client.close() }
            try await client.initialize(capabilities: Self.resolving)
            client.open(uri, text)
            let gate = WorkerGate(client.server)  // titles must not need the model
            defer { gate.release() }
            let list = try await actions(client, position(2, 4), position(2, 25))
            #expect(list.compactMap { $0["title"]?.stringValue }
                    == ["Fill in selection", "Complete function body", "Add documentation comment", "Continue from here"])
            #expect(list.allSatisfy { $0["edit"] == nil && $0["kind"] == "refactor.rewrite" && $0["data"] != nil })
            // An empty selection on a line without a body offers only the two that need no selection.
            let caret = try await actions(client, position(1, 4), position(1, 4))
            #expect(caret.compactMap { $0["title"]?.stringValue } == ["Add documentation comment", "Continue from here"])
            #expect(try await actions(client, position(1, 4), position(1, 4), only: ["quickfix"]).isEmpty)
            #expect(try await actions(client, position(1, 4), position(1, 4), only: ["refactor"]).count == 2)
        }

        /// "Complete function body" on `area()`, offered to a client that accepts work-done progress.
        func completeBodyAction(_ client: TestClient) async throws -> JSONValue {
            try await client.initialize(capabilities: Self.resolvingWithProgress)
            client.open(uri, text)
            let list = try await actions(client, position(2, 4), position(2, 25))
            return try #require(list.first { $0["title"] == "Complete function body" })
        }

        @Test func resolveReturnsAWorkspaceEditAndReportsProgress() async throws {
            let client = TestClient()
            defer { client.close() }
            let body = try await completeBodyAction(client)
            let resolved = try await client.request("codeAction/resolve", body).value()
            #expect(resolved["title"] == "Complete function body")
            let edits = try #require(resolved["edit"]?["changes"]?[uri]?.arrayValue)
            #expect(edits.count == 1)
            // Inserted between the braces of `{}` on line 2 (column 24), on its own indented lines.
            #expect(edits[0]["range"] == ["start": position(2, 24), "end": position(2, 24)])
            let newText = try #require(edits[0]["newText"]?.stringValue)
            #expect(newText.hasPrefix("\n        ") && newText.hasSuffix("\n    "))

            try await client.waitUntil("progress end") {
                client.messages("$/progress").contains { $0["value"]?["kind"] == "end" }
            }
            let created = client.messages("window/workDoneProgress/create")
            #expect(created.count == 1)
            let kinds = client.messages("$/progress").compactMap { $0["value"]?["kind"]?.stringValue }
            #expect(kinds.first == "begin" && kinds.last == "end")
            #expect(client.messages("$/progress").allSatisfy { $0["token"] == created[0]["token"] })
            // The server never edits by itself.
            #expect(client.messages("workspace/applyEdit").isEmpty)
        }

        @Test func progressTokenAcceptedAfterTheWorkEndedStillBeginsAndEnds() async throws {
            let client = TestClient()
            defer { client.close() }
            let body = try await completeBodyAction(client)
            // The client answers window/workDoneProgress/create only after the resolve's response.
            client.holdServerRequests()
            _ = try await client.request("codeAction/resolve", body).value()
            #expect(client.messages("window/workDoneProgress/create").count == 1)
            #expect(client.messages("$/progress").isEmpty)
            client.releaseServerRequests()
            try await client.waitUntil("progress end") {
                client.messages("$/progress").contains { $0["value"]?["kind"] == "end" }
            }
            let kinds = client.messages("$/progress").compactMap { $0["value"]?["kind"]?.stringValue }
            #expect(kinds == ["begin", "end"])
        }

        @Test func documentationCommentIsInsertedAboveTheLine() async throws {
            let client = TestClient()
            defer { client.close() }
            try await client.initialize(capabilities: Self.resolving)
            client.open(uri, text)
            let list = try await actions(client, position(2, 4), position(2, 4))
            let doc = try #require(list.first { $0["title"] == "Add documentation comment" })
            let resolved = try await client.request("codeAction/resolve", doc).value()
            let edit = try #require(resolved["edit"]?["changes"]?[uri]?[0])
            #expect(edit["range"] == ["start": position(2, 0), "end": position(2, 0)])
            let newText = try #require(edit["newText"]?.stringValue)
            #expect(newText.hasPrefix("    /// ") && newText.hasSuffix("\n"))
        }

        @Test func fillSelectionReplacesTheSelection() async throws {
            let client = TestClient()
            defer { client.close() }
            try await client.initialize(capabilities: Self.resolving)
            client.open(uri, text)
            let list = try await actions(client, position(1, 14), position(1, 17))
            let fill = try #require(list.first { $0["title"] == "Fill in selection" })
            let resolved = try await client.request("codeAction/resolve", fill).value()
            let edit = try #require(resolved["edit"]?["changes"]?[uri]?[0])
            #expect(edit["range"] == ["start": position(1, 14), "end": position(1, 17)])
        }

        @Test func staleOrCancelledResolves() async throws {
            let client = TestClient()
            defer { client.close() }
            try await client.initialize(capabilities: Self.resolvingWithProgress)
            client.open(uri, text)
            let list = try await actions(client, position(1, 4), position(1, 4))
            let action = try #require(list.first)

            // Cancelled through the progress token while queued: -32800, and the progress ends.
            let gate = WorkerGate(client.server)
            let pending = client.request("codeAction/resolve", action)
            try await client.waitUntil("progress create") { !client.messages("window/workDoneProgress/create").isEmpty }
            let token = client.messages("window/workDoneProgress/create")[0]["token"]!
            client.notify("window/workDoneProgress/cancel", ["token": token])
            try await client.waitUntil("cancel seen") {
                client.server.state.withLock { $0.pending[pending.id]?.reason == .client }
            }
            gate.release()
            #expect(try await pending.wait() == .failure(.requestCancelled))

            // After an edit the offered action is stale: -32801.
            client.notify("textDocument/didChange", ["textDocument": ["uri": .string(uri), "version": 2],
                                                     "contentChanges": [["text": "x"]]])
            let stale = try await client.request("codeAction/resolve", action).wait()
            guard case .failure(let error) = stale else { Issue.record("stale action resolved"); return }
            #expect(error.code == .contentModified)
            // An action that is not ours.
            let foreign = try await client.request("codeAction/resolve", ["title": "x"]).wait()
            guard case .failure(let foreignError) = foreign else { Issue.record("foreign action resolved"); return }
            #expect(foreignError.code == .invalidParams)
        }

        /// A client that cannot resolve (Eglot 1.9) gets each action as a command; executing it sends the
        /// edit with `workspace/applyEdit` and answers null, with progress as for resolve.
        @Test func withoutResolveSupportActionsAreCommandsAnsweredWithApplyEdit() async throws {
            let client = TestClient()
            defer { client.close() }
            try await client.initialize(capabilities: ["workspace": ["applyEdit": true], "window": ["workDoneProgress": true]])
            client.open(uri, text)
            let list = try await actions(client, position(2, 4), position(2, 25))
            #expect(list.allSatisfy { $0["data"] == nil && $0["edit"] == nil && $0["command"]?["command"] == "understudy.applyCodeAction" })
            let body = try #require(list.first { $0["title"] == "Complete function body" })
            let command = try #require(body["command"])
            let answer = try await client.request("workspace/executeCommand",
                                                  ["command": command["command"]!, "arguments": command["arguments"]!]).value()
            #expect(answer == .null)
            let applied = client.messages("workspace/applyEdit")
            #expect(applied.count == 1)
            let edits = try #require(applied.first?["edit"]?["changes"]?[uri]?.arrayValue)
            #expect(edits.first?["range"] == ["start": position(2, 24), "end": position(2, 24)])
            #expect(applied.first?["label"] == "Complete function body")
            try await client.waitUntil("progress end") {
                client.messages("$/progress").contains { $0["value"]?["kind"] == "end" }
            }
        }

        /// In Python the body goes below the function's docstring, which the model then reads first.
        @Test func pythonBodyGoesBelowTheDocstring() async throws {
            let client = TestClient()
            defer { client.close() }
            try await client.initialize(capabilities: Self.resolving)
            let python = "file:///add.py"
            client.open(python, "def add(a, b):\n    \"\"\"Add.\n\n    >>> add(1, 2)\n    \"\"\"\n\n\nx = 1\n", language: "python")
            let list = try await client.request("textDocument/codeAction", [
                "textDocument": ["uri": .string(python)], "range": ["start": position(0, 0), "end": position(0, 14)],
                "context": ["diagnostics": []],
            ]).value().arrayValue ?? []
            let body = try #require(list.first { $0["title"] == "Complete function body" })
            let resolved = try await client.request("codeAction/resolve", body).value()
            let edit = try #require(resolved["edit"]?["changes"]?[python]?.arrayValue?.first)
            #expect(edit["range"] == ["start": position(4, 7), "end": position(4, 7)])
            #expect(edit["newText"]?.stringValue?.hasPrefix("\n    ") == true)
            // A one-line docstring too.
            let document = TextDocument(uri: python, languageId: "python", version: 1, text: "def f():\n    '''One.'''\n")
            #expect(ModelAction.docstringEnd(in: document, after: 0) == 23)
            #expect(ModelAction.docstringEnd(in: TextDocument(uri: python, languageId: "python", version: 1, text: "def f():\n    pass\n"), after: 0) == nil)
            // The body ends where the model goes back to the function's level (a new `def`).
            let plan = try #require(ModelAction.completeBody.plan(in: document, selection: 0..<8))
            #expect(plan.blockIndent == 4)
            #expect(ModelAction.completeBody.finish("return 1\n\n    # done\n\ndef g():\n    pass", plan: plan) == "\n    return 1\n\n    # done")
        }

        @Test func badCommandsAreClearErrorsAndApplyNothing() async throws {
            let client = TestClient()
            defer { client.close() }
            try await client.initialize(capabilities: ["workspace": ["applyEdit": true]])
            client.open(uri, text)
            let command = try #require(try await actions(client, position(1, 4), position(1, 4)).first?["command"])
            func code(_ params: JSONValue) async throws -> ErrorCode? {
                guard case .failure(let error) = try await client.request("workspace/executeCommand", params).wait() else { return nil }
                return error.code
            }
            #expect(try await code(["command": "rm -rf", "arguments": command["arguments"]!]) == .invalidParams)
            #expect(try await code(["command": command["command"]!]) == .invalidParams)
            #expect(try await code(["command": command["command"]!, "arguments": [["title": "x"]]]) == .invalidParams)
            // A stale document: the action no longer applies.
            client.notify("textDocument/didChange", ["textDocument": ["uri": .string(uri), "version": 2],
                                                     "contentChanges": [["text": "x"]]])
            #expect(try await code(["command": command["command"]!, "arguments": command["arguments"]!]) == .contentModified)
            #expect(client.messages("workspace/applyEdit").isEmpty)
        }
    }
}
