import JSONRPC
import Model
import Testing

@testable import LanguageServer

extension LanguageServerModuleTests {
    /// Randomized bad input at the LSP layer (the JSONRPC module fuzzes framing and JSON itself):
    /// every request must get the answer the rules say, and the server must keep working.
    @Suite struct RobustnessTests {
        enum Expectation { case error(ErrorCode), success }

        @Test func tenThousandBadMessages() async throws {
            let client = TestClient(configuration: TestModel.configuration(model: false))
            defer { client.close() }
            var rng = SplitMix64(seed: 2024)
            func pick<T>(_ options: [T]) -> T { options[Int(rng.next() % UInt64(options.count))] }
            func number() -> JSONValue { pick([.int(-5), .int(0), .int(3), .int(1 << 40), .double(2.5), .string("7"), .null]) }
            func anyValue() -> JSONValue { pick([.null, .bool(true), .int(1), .string("x"), .array([]), .object([:]), number()]) }

            // Before initialize: requests answer -32002, notifications are dropped.
            var checks: [(PendingResponse, Expectation)] = []
            for _ in 0..<200 {
                let method = pick(["textDocument/inlineCompletion", "textDocument/completion", "shutdown", "x/unknown"])
                checks.append((client.request(method, pick([nil, [:], ["a": 1]])), .error(.serverNotInitialized)))
                client.notify(pick(["textDocument/didOpen", "textDocument/didChange", "$/cancelRequest"]), anyValue())
            }
            try await client.initialize()
            client.open("file:///f.swift", "let a = 1\nlet 😀 = 2\r\n")

            for i in 0..<10_000 {
                switch i % 8 {
                case 0:
                    checks.append((client.request("x/unknown\(i % 7)", anyValue().objectValue.map { .object($0) }), .error(.methodNotFound)))
                case 1:
                    // Wrong param types in a completion request.
                    let params: JSONValue = ["textDocument": pick([["uri": 5], "file:///f.swift", .null]),
                                             "position": ["line": number(), "character": number()],
                                             "context": ["triggerKind": number()]]
                    checks.append((client.request(pick(["textDocument/inlineCompletion", "textDocument/completion"]), params),
                                   .error(.invalidParams)))
                case 2:
                    // Positions far out of range: clamped, never an error (no model: empty result).
                    let params = inlineParams("file:///f.swift", Int64(rng.next() % 1_000_000), Int64(rng.next() % 1_000_000))
                    checks.append((client.request("textDocument/inlineCompletion", params), .success))
                case 3:
                    // Edits to unknown documents and edits with ranges out of range: ignored or clamped.
                    let uri: JSONValue = pick(["file:///nope.swift", "file:///f.swift"])
                    let line = Int64(rng.next() % 50), character = Int64(rng.next() % 50)
                    client.notify("textDocument/didChange", ["textDocument": ["uri": uri, "version": .int(Int64(i))],
                                                             "contentChanges": [["range": ["start": position(line, character),
                                                                                           "end": position(line, character + 1)],
                                                                                 "text": pick(["", "x", "\n", "😀", "\r\n"])]]])
                case 4:
                    client.notify(pick(["textDocument/didClose", "textDocument/didSave", "$/setTrace", "workspace/didChangeConfiguration",
                                        "$/cancelRequest", "window/workDoneProgress/cancel"]), anyValue())
                case 5:
                    checks.append((client.request("codeAction/resolve", pick([["title": "t"], ["title": "t", "data": anyValue()], [:]])),
                                   .error(.invalidParams)))
                case 6:
                    checks.append((client.request("textDocument/codeAction", ["textDocument": ["uri": "file:///f.swift"],
                                                                              "range": ["start": position(0, 0), "end": number()],
                                                                              "context": ["diagnostics": []]]), .error(.invalidParams)))
                default:
                    checks.append((client.request("initialize", ["capabilities": [:]]), .error(.invalidRequest)))
                }
                if i % 1000 == 999 {
                    // Keep the set of unanswered requests small, and check the document is still usable.
                    for (pending, _) in checks.suffix(200) { _ = try await pending.wait() }
                }
            }
            var failures = 0
            for (pending, expectation) in checks {
                let result = try await pending.wait()
                switch (expectation, result) {
                case (.success, .success): break
                case (.error(let code), .failure(let error)) where error.code == code: break
                default:
                    failures += 1
                    if failures < 5 { Issue.record("request \(pending.id): expected \(expectation), got \(result)") }
                }
            }
            #expect(failures == 0)
            #expect(checks.count > 7000)
            // Still alive and consistent: the document's line table matches its text.
            let document = try #require(client.server.state.withLock { $0.documents["file:///f.swift"] })
            #expect(document.lineStarts == TextDocument.lineStarts(of: document.bytes))
            #expect(try await client.request("shutdown").value() == .null)
        }
    }
}
