import JSONRPC
import Model
import TestFixtures
import Testing

@testable import LanguageServer

extension LanguageServerModuleTests {
    @Suite struct CompletionServerTests {
        let uri = "file:///main.swift"

        /// The first inline item's text for a cursor at the end of `text`.
        func firstItem(_ client: TestClient, line: Int64, character: Int64, invoked: Bool = false) async throws -> JSONValue? {
            try await client.request("textDocument/inlineCompletion", inlineParams(uri, line, character, invoked: invoked)).value().items.first
        }

        @Test func inlineCompletionHasAnExactRange() async throws {
            let client = TestClient()
            defer { client.close() }
            try await client.initialize()
            client.open(uri, "let a😀 = 1\nlet b = ")
            let item = try #require(try await firstItem(client, line: 1, character: 8))
            let text = try #require(item["insertText"]?.stringValue)
            #expect(!text.isEmpty && text.allSatisfy { $0.isLetter })  // the letters model
            #expect(item["range"] == ["start": position(1, 8), "end": position(1, 8)])
            // A character past the end of the line clamps to its end, in the range too.
            let clamped = try #require(try await firstItem(client, line: 1, character: 40))
            #expect(clamped["range"] == ["start": position(1, 8), "end": position(1, 8)])
        }

        @Test func invokedTriggerGivesSeveralDistinctCandidates() async throws {
            let client = TestClient()
            defer { client.close() }
            try await client.initialize()
            client.open(uri, "func area(width: Int) -> Int {\n    let x = ")
            let automatic = try await client.request("textDocument/inlineCompletion", inlineParams(uri, 1, 12)).value().items
            #expect(automatic.count == 1)
            // Invoked: the model runs again (the cache holds one candidate) and returns several distinct ones.
            let items = try await client.request("textDocument/inlineCompletion", inlineParams(uri, 1, 12, invoked: true)).value().items
            let texts = items.compactMap { $0["insertText"]?.stringValue }
            #expect(texts.count >= 2)
            #expect(Set(texts).count == texts.count)
            #expect(automatic.first?["insertText"]?.stringValue == texts.first)  // the greedy one comes first
        }

        @Test func typingAlongIsAnsweredFromTheCache() async throws {
            let client = TestClient()
            defer { client.close() }
            try await client.initialize()
            client.open(uri, "let b = ")
            let first = try #require(try await firstItem(client, line: 0, character: 8)?["insertText"]?.stringValue)
            try #require(first.count >= 3)
            let typed = String(first.prefix(2))
            client.notify("textDocument/didChange", ["textDocument": ["uri": .string(uri), "version": 2],
                                                     "contentChanges": [["range": ["start": position(0, 8), "end": position(0, 8)],
                                                                         "text": .string(typed)]]])
            // With the worker blocked, only the cache can answer.
            let gate = WorkerGate(client.server)
            defer { gate.release() }
            let answer = client.request("textDocument/inlineCompletion", inlineParams(uri, 0, 10))
            let item = try #require(try await answer.value(seconds: 5).items.first)
            #expect(item["insertText"]?.stringValue == String(first.dropFirst(2)))
            #expect(item["range"] == ["start": position(0, 10), "end": position(0, 10)])
        }

        @Test func clientCancellationAnswersRequestCancelled() async throws {
            let client = TestClient()
            defer { client.close() }
            try await client.initialize()
            client.open(uri, "let b = ")
            let gate = WorkerGate(client.server)
            let pending = client.request("textDocument/inlineCompletion", inlineParams(uri, 0, 8))
            client.notify("$/cancelRequest", ["id": pending.id.jsonValue])
            try await client.waitUntil("cancel seen") {
                client.server.state.withLock { $0.pending[pending.id]?.reason == .client }
            }
            gate.release()
            #expect(try await pending.wait() == .failure(.requestCancelled))
        }

        @Test func aNewerRequestSupersedesTheOlderOne() async throws {
            let client = TestClient()
            defer { client.close() }
            try await client.initialize()
            client.open(uri, "let b = ")
            let gate = WorkerGate(client.server)
            let older = client.request("textDocument/inlineCompletion", inlineParams(uri, 0, 8))
            let newer = client.request("textDocument/inlineCompletion", inlineParams(uri, 0, 8))
            try await client.waitUntil("both registered") { client.server.state.withLock { $0.pending.count == 2 } }
            gate.release()
            #expect(try await older.value().items.isEmpty)
            #expect(try await newer.value().items.count == 1)
        }

        @Test func completionItemsCarryTextEdits() async throws {
            let client = TestClient()
            defer { client.close() }
            try await client.initialize(capabilities: ["general": ["positionEncodings": ["utf-8"]]])
            client.open(uri, "let é = va")
            let list = try await client.request("textDocument/completion", [
                "textDocument": ["uri": .string(uri)], "position": position(0, 11), "context": ["triggerKind": 1]]).value()
            #expect(list["isIncomplete"] == true)
            let item = try #require(list.items.first)
            let edit = try #require(item["textEdit"])
            // The edit replaces the word being typed ("va"), in UTF-8 columns (é is two bytes).
            #expect(edit["range"] == ["start": position(0, 9), "end": position(0, 11)])
            let newText = try #require(edit["newText"]?.stringValue)
            #expect(newText.hasPrefix("va") && newText.count > 2)
            #expect(item["label"]?.stringValue == newText)
            #expect(item["insertTextFormat"] == 1)
        }

        @Test func withoutAModelCompletionsAreEmptyAndExplainedOnce() async throws {
            let client = TestClient(configuration: TestModel.configuration(model: false))
            defer { client.close() }
            try await client.initialize()
            client.open(uri, "let b = ")
            for _ in 0..<3 {
                #expect(try await client.request("textDocument/inlineCompletion", inlineParams(uri, 0, 8)).value().items.isEmpty)
            }
            let list = try await client.request("textDocument/completion", [
                "textDocument": ["uri": .string(uri)], "position": position(0, 8)]).value()
            #expect(list.items.isEmpty)
            #expect(try await client.request("textDocument/codeAction", [
                "textDocument": ["uri": .string(uri)], "range": ["start": position(0, 0), "end": position(0, 3)],
                "context": ["diagnostics": []]]).value() == [])
            let shown = client.messages("window/showMessage")
            #expect(shown.count == 1)
            #expect(shown.first?["message"]?.stringValue?.contains("--model") == true)
        }

        @Test func disabledAnswersEmptyAtOnce() async throws {
            let client = TestClient()
            defer { client.close() }
            try await client.initialize(options: ["enabled": false])
            client.open(uri, "let b = ")
            let gate = WorkerGate(client.server)
            defer { gate.release() }
            #expect(try await client.request("textDocument/inlineCompletion", inlineParams(uri, 0, 8)).value(seconds: 5).items.isEmpty)
        }
    }
}
