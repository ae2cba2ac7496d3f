import JSONRPC
import Model
import Synchronization
import TestFixtures
import Testing

@testable import LanguageServer

extension LanguageServerModuleTests {
    /// `workspace/executeCommand` `understudy.instruct`: a sentence applied to a selection by a model with
    /// a chat template (the chat letters fixture), answered with `workspace/applyEdit`.
    @Suite struct InstructTests {
        let uri = "file:///shapes.py"
        let text = "class Square:\n    def area(self):\n        return self.side * self.side\n"

        static func chatConfiguration() -> ServerConfiguration {
            var configuration = TestModel.configuration()
            configuration.modelPath = Fixtures.chatLettersModelPath
            return configuration
        }

        static let capabilities: JSONValue = ["workspace": ["applyEdit": true], "window": ["workDoneProgress": true]]

        func arguments(_ start: JSONValue, _ end: JSONValue, version: Int64 = 1,
                       instruction: String = "add error handling") -> JSONValue {
            ["command": "understudy.instruct",
             "arguments": [["uri": .string(uri), "range": ["start": start, "end": end], "version": .int(version),
                            "instruction": .string(instruction)]]]
        }

        func error(_ client: TestClient, _ params: JSONValue) async throws -> ResponseError? {
            guard case .failure(let error) = try await client.request("workspace/executeCommand", params).wait() else { return nil }
            return error
        }

        @Test func offeredOnlyForAModelWithAChatTemplate() async throws {
            let chat = TestClient(configuration: Self.chatConfiguration())
            defer { chat.close() }
            let offered = try await chat.initialize(capabilities: Self.capabilities)
            #expect(offered["capabilities"]?["executeCommandProvider"]?["commands"] == ["understudy.applyCodeAction", "understudy.instruct"])
            #expect(offered["capabilities"]?["experimental"]?["instruct"] == ["available": true, "template": "ChatML"])

            let student = TestClient()
            defer { student.close() }
            let refused = try await student.initialize(capabilities: Self.capabilities)
            #expect(refused["capabilities"]?["executeCommandProvider"]?["commands"] == ["understudy.applyCodeAction"])
            let instruct = try #require(refused["capabilities"]?["experimental"]?["instruct"])
            #expect(instruct["available"] == false)
            #expect(instruct["reason"]?.stringValue?.contains("no chat template") == true)
            // Asked anyway, it says why.
            student.open(uri, text, language: "python")
            let answer = try #require(try await error(student, arguments(position(1, 0), position(3, 0))))
            #expect(answer.code == LanguageServer.requestFailed)
            #expect(answer.message.contains("no chat template"))
            #expect(student.messages("workspace/applyEdit").isEmpty)
        }

        /// A teacher with a chat template beside a student without one: the instruct action and
        /// "Complete function body" run on the teacher, completions on the student.
        @Test func aTeacherServesTheEditsAndTheStudentTheCompletions() async throws {
            var configuration = TestModel.configuration()
            configuration.teacherPath = Fixtures.chatLettersModelPath
            #expect(LanguageServer.instructCapability(configuration).available)
            let worker = ModelWorker()
            let paths = Mutex<[ModelRole: String]>([:])
            let shared = Mutex<Bool>(false)
            for role in [ModelRole.completion, .teacher] {
                worker.submit(configuration: configuration, role: role) { result in
                    paths.withLock { $0[role] = (try? result.get())?.model.path }
                }
            }
            var alone = TestModel.configuration()
            alone.teacherPath = nil
            let first = Mutex<CompletionPipeline?>(nil)
            worker.submit(configuration: alone) { result in first.withLock { $0 = try? result.get() } }
            worker.submit(configuration: alone, role: .teacher) { result in
                shared.withLock { $0 = (try? result.get()) === first.withLock { $0 } }
            }
            worker.drain()
            #expect(paths.withLock { $0 } == [.completion: Fixtures.lettersModelPath, .teacher: Fixtures.chatLettersModelPath])
            #expect(shared.withLock { $0 }, "without a teacher the edits share the completion model's pipeline")

            let client = TestClient(configuration: configuration)
            defer { client.close() }
            let offered = try await client.initialize(capabilities: Self.capabilities, options: ["teacher": .string(Fixtures.chatLettersModelPath)])
            #expect(offered["capabilities"]?["experimental"]?["instruct"]?["available"] == true)
            client.open(uri, text, language: "python")
            #expect(try await client.request("workspace/executeCommand", arguments(position(1, 0), position(3, 0))).value(seconds: 120) == .null)
            #expect(client.messages("workspace/applyEdit").count == 1)
        }

        @Test func appliesTheEditWithProgress() async throws {
            let client = TestClient(configuration: Self.chatConfiguration())
            defer { client.close() }
            try await client.initialize(capabilities: Self.capabilities)
            client.open(uri, text, language: "python")
            let answer = try await client.request("workspace/executeCommand", arguments(position(1, 0), position(3, 0))).value(seconds: 120)
            #expect(answer == .null)
            let applied = client.messages("workspace/applyEdit")
            #expect(applied.count == 1)
            #expect(applied.first?["label"] == "Edit with instruction")
            let edit = try #require(applied.first?["edit"]?["changes"]?[uri]?.arrayValue?.first)
            #expect(edit["range"] == ["start": position(1, 0), "end": position(3, 0)])
            // The letters model's answer, indented like the selection, ending with its line end.
            let newText = try #require(edit["newText"]?.stringValue)
            #expect(newText.hasPrefix("    ") && newText.hasSuffix("\n"))
            #expect(newText.dropFirst(4).dropLast().allSatisfy { $0.isLetter })
            try await client.waitUntil("progress end") {
                client.messages("$/progress").contains { $0["value"]?["kind"] == "end" && $0["value"]?["message"] == "done" }
            }
            #expect(client.messages("$/progress").first?["value"]?["title"] == "Edit with instruction")
        }

        @Test func badInputIsAClearErrorAndAppliesNothing() async throws {
            let client = TestClient(configuration: Self.chatConfiguration())
            defer { client.close() }
            try await client.initialize(capabilities: Self.capabilities)
            client.open(uri, text, language: "python")
            let whole = (position(0, 0), position(3, 0))
            let empty = try #require(try await error(client, arguments(whole.0, whole.1, instruction: "  \n")))
            #expect(empty.code == .invalidParams && empty.message.contains("instruction: empty"))
            let huge = try #require(try await error(client, arguments(whole.0, whole.1, instruction: String(repeating: "a", count: 1 << 20))))
            #expect(huge.code == .invalidParams && huge.message.contains("1048576 bytes"))
            let outside = try #require(try await error(client, arguments(position(0, 0), position(9, 0))))
            #expect(outside.code == .invalidParams && outside.message.contains("outside the document"))
            let negative = try #require(try await error(client, arguments(position(-1, 0), position(1, 0))))
            #expect(negative.code == .invalidParams)
            let reversed = try #require(try await error(client, arguments(position(2, 0), position(1, 0))))
            #expect(reversed.message.contains("ends before it starts"))
            let nothing = try #require(try await error(client, arguments(position(1, 4), position(1, 4))))
            #expect(nothing.message.contains("empty"))
            let missing = try #require(try await error(client, ["command": "understudy.instruct"]))
            #expect(missing.code == .invalidParams)
            let malformed = try #require(try await error(client, ["command": "understudy.instruct", "arguments": [["uri": .string(uri)]]]))
            #expect(malformed.code == .invalidParams)
            // A stale document is refused as for code actions.
            client.notify("textDocument/didChange", ["textDocument": ["uri": .string(uri), "version": 2],
                                                     "contentChanges": [["text": "x = 1\n"]]])
            let stale = try #require(try await error(client, arguments(position(0, 0), position(1, 0), version: 1)))
            #expect(stale.code == .contentModified)
            #expect(client.messages("workspace/applyEdit").isEmpty)
        }

        @Test func cancelledRequestAppliesNothing() async throws {
            let client = TestClient(configuration: Self.chatConfiguration())
            defer { client.close() }
            try await client.initialize(capabilities: Self.capabilities)
            client.open(uri, text, language: "python")
            let gate = WorkerGate(client.server)
            let pending = client.request("workspace/executeCommand", arguments(position(1, 0), position(3, 0)))
            try await client.waitUntil("registered") { client.server.state.withLock { $0.pending[pending.id] != nil } }
            client.notify("$/cancelRequest", ["id": pending.id.jsonValue])
            gate.release()
            guard case .failure(let error) = try await pending.wait(seconds: 60) else { Issue.record("cancelled request succeeded"); return }
            #expect(error.code == .requestCancelled)

            // Cancelled through its progress token (`window/workDoneProgress/cancel`).
            let blocked = WorkerGate(client.server)
            let running = client.request("workspace/executeCommand", arguments(position(1, 0), position(3, 0)))
            try await client.waitUntil("token") { client.server.state.withLock { $0.progress[.string("understudy-2")] != nil } }
            client.notify("window/workDoneProgress/cancel", ["token": "understudy-2"])
            try await client.waitUntil("cancelled") { client.server.state.withLock { $0.progress[.string("understudy-2")]?.isCancelled == true } }
            blocked.release()
            guard case .failure(let second) = try await running.wait(seconds: 60) else { Issue.record("cancelled request succeeded"); return }
            #expect(second.code == .requestCancelled)
            #expect(client.messages("workspace/applyEdit").isEmpty)
        }
    }
}
