import JSONRPC
import Testing

@testable import LanguageServer

extension LanguageServerModuleTests {
    @Suite struct LifecycleTests {
        @Test func requestsBeforeInitializeAreRefused() async throws {
            let client = TestClient()
            defer { client.close() }
            let early = try await client.request("textDocument/completion", [:]).wait()
            #expect(early == .failure(.serverNotInitialized))
            // A notification before initialize is dropped silently.
            client.open("file:///a.swift", "x")
            try await client.initialize()
            let completion = try await client.request("textDocument/completion", [
                "textDocument": ["uri": "file:///a.swift"], "position": position(0, 0)]).wait()
            guard case .failure(let error) = completion else { Issue.record("the early didOpen was not dropped"); return }
            #expect(error.code == .invalidParams)
        }

        @Test func initializeNegotiatesThePositionEncoding() async throws {
            let client = TestClient()
            defer { client.close() }
            let result = try await client.initialize(capabilities: ["general": ["positionEncodings": ["utf-32", "utf-8"]]])
            #expect(result["capabilities"]?["positionEncoding"] == "utf-8")
            #expect(result["capabilities"]?["inlineCompletionProvider"] == true)
            #expect(result["capabilities"]?["textDocumentSync"]?["change"] == 2)
            #expect(result["capabilities"]?["codeActionProvider"]?["resolveProvider"] == true)
            #expect(result["serverInfo"]?["name"] == "understudy")
            let again = try await client.request("initialize", ["capabilities": [:]]).wait()
            guard case .failure(let error) = again else { Issue.record("second initialize accepted"); return }
            #expect(error.code == .invalidRequest)

            let other = TestClient()
            defer { other.close() }
            let defaulted = try await other.initialize()
            #expect(defaulted["capabilities"]?["positionEncoding"] == "utf-16")
        }

        @Test func shutdownThenExitIsZero() async throws {
            let client = TestClient()
            defer { client.close() }
            try await client.initialize()
            #expect(try await client.request("shutdown").value() == .null)
            let after = try await client.request("textDocument/completion", [:]).wait()
            guard case .failure(let error) = after else { Issue.record("request after shutdown accepted"); return }
            #expect(error.code == .invalidRequest)
            client.notify("exit")
            try await client.waitUntil("exit code") { client.exit.code != nil }
            #expect(client.exit.code == 0)
        }

        @Test func exitWithoutShutdownIsOne() async throws {
            let client = TestClient()
            defer { client.close() }
            try await client.initialize()
            client.notify("exit")
            try await client.waitUntil("exit code") { client.exit.code != nil }
            #expect(client.exit.code == 1)
        }

        @Test func endOfInputWithoutExitIsOne() async throws {
            let client = TestClient()
            try await client.initialize()
            client.close()
            #expect(client.exit.code == 1)
        }

        @Test func unknownMethodsAndBadParams() async throws {
            let client = TestClient()
            defer { client.close() }
            try await client.initialize()
            let unknown = try await client.request("textDocument/hover", [:]).wait()
            #expect(unknown == .failure(.methodNotFound("textDocument/hover")))
            let bad = try await client.request("textDocument/inlineCompletion", [
                "textDocument": ["uri": "file:///a"], "position": ["line": "zero", "character": 0],
                "context": ["triggerKind": 1]]).wait()
            guard case .failure(let error) = bad else { Issue.record("bad params accepted"); return }
            #expect(error.code == .invalidParams)
            #expect(error.message.contains("params.position.line"))
            // Unknown notifications and edits to unknown documents are ignored; the server keeps answering.
            client.notify("$/unknownThing", [:])
            client.notify("textDocument/didChange", ["textDocument": ["uri": "file:///nope", "version": 2],
                                                     "contentChanges": [["text": "x"]]])
            #expect(try await client.request("shutdown").value() == .null)
            try await client.waitUntil("a logged warning") {
                client.messages("window/logMessage").contains { $0["message"]?.stringValue?.contains("file:///nope is not open") == true }
            }
        }

        @Test func setTraceSendsLogTrace() async throws {
            let client = TestClient()
            defer { client.close() }
            try await client.initialize()
            client.notify("$/setTrace", ["value": "messages"])
            _ = try await client.request("textDocument/codeAction", [:]).wait()
            try await client.waitUntil("$/logTrace") { !client.messages("$/logTrace").isEmpty }
            #expect(client.messages("$/logTrace").first?["message"]?.stringValue?.contains("textDocument/codeAction") == true)
        }

        @Test func configurationChangesApplyAndReportProblems() async throws {
            let client = TestClient(configuration: TestModel.configuration(model: false))
            defer { client.close() }
            try await client.initialize(options: ["maxTokens": 5, "threads": "many", "bogus": 1])
            #expect(client.server.state.withLock { $0.configuration.maxTokens } == 5)
            client.notify("workspace/didChangeConfiguration", ["settings": ["understudy": ["enabled": false, "candidates": 2]]])
            try await client.waitUntil("configuration applied") {
                client.server.state.withLock { !$0.configuration.enabled && $0.configuration.candidates == 2 }
            }
            let warnings = client.messages("window/logMessage").compactMap { $0["message"]?.stringValue }
            #expect(warnings.contains { $0.contains("\"threads\"") && $0.contains("expected an integer") })
            #expect(warnings.contains { $0.contains("\"bogus\": unknown setting") })
        }
    }
}
