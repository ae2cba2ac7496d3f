import JSONRPC
import Model
import TestFixtures
import Testing

@testable import LanguageServer

extension LanguageServerModuleTests {
    @Suite struct TieredCompletionTests {
        let uri = "file:///main.swift"
        let text = "let b = "

        /// The text of the first item of one automatic request at the end of `text`, from a fresh server.
        func firstText(_ configuration: ServerConfiguration) async throws -> String? {
            let client = TestClient(configuration: configuration)
            defer { client.close() }
            try await client.initialize()
            client.open(uri, text)
            return try await client.request("textDocument/inlineCompletion", inlineParams(uri, 0, 8)).value().items.first?["insertText"]?.stringValue
        }

        @Test func theDraftModelAnswersFirstAndTheModelsAnswerFollowsThroughTheCache() async throws {
            let modelAlone = try #require(try await firstText(TestModel.configuration()))
            var draftConfiguration = TestModel.configuration()
            draftConfiguration.modelPath = Fixtures.otherLettersModelPath
            let draftAlone = try #require(try await firstText(draftConfiguration))
            try #require(modelAlone != draftAlone, "the two letters models must write different text for this test")

            var configuration = TestModel.configuration()
            configuration.draftPath = Fixtures.otherLettersModelPath
            #expect(try await firstText(configuration.with(tiered: false)) == modelAlone)

            let client = TestClient(configuration: configuration)
            defer { client.close() }
            try await client.initialize()
            client.open(uri, text)
            let first = try await client.request("textDocument/inlineCompletion", inlineParams(uri, 0, 8)).value().items.first
            #expect(first?["insertText"]?.stringValue == draftAlone)
            try await client.waitUntil("the model's answer in the typing cache") {
                client.server.state.withLock {
                    $0.typingCache.lookup(uri: uri, prefix: Array(text.utf8), suffix: [], modelOnly: true) != nil
                }
            }
            // The same cursor again, and then typing along the model's answer: from the cache, the model's text.
            let gate = WorkerGate(client.server)
            defer { gate.release() }
            let again = try await client.request("textDocument/inlineCompletion", inlineParams(uri, 0, 8)).value(seconds: 5).items.first
            #expect(again?["insertText"]?.stringValue == modelAlone)
            client.notify("textDocument/didChange", ["textDocument": ["uri": .string(uri), "version": 2],
                                                     "contentChanges": [["range": ["start": position(0, 8), "end": position(0, 8)],
                                                                         "text": .string(String(modelAlone.prefix(2)))]]])
            let typed = try await client.request("textDocument/inlineCompletion", inlineParams(uri, 0, 10)).value(seconds: 5).items.first
            #expect(typed?["insertText"]?.stringValue == String(modelAlone.dropFirst(2)))
        }

        @Test func theNextRequestDecidesWhatGoesOn() {
            var state = LanguageServer.State(configuration: ServerConfiguration())
            let prefix = Array("let total = ".utf8), suffix = Array("\n".utf8)
            func work(refinement: Bool) -> CompletionWork {
                let work = CompletionWork(flag: CancellationFlag(outlivesCancellation: !refinement), prefix: prefix, suffix: suffix,
                                          isRefinement: refinement)
                state.addCompletionWork(work, uri: "f")
                return work
            }
            // Typed along and answered from the cache: both go on; the request's answer is no longer wanted.
            var request = work(refinement: false), refinement = work(refinement: true)
            state.supersedeCompletionWork(uri: "f", prefix: prefix + Array("pr".utf8), suffix: suffix, needsModel: false)
            #expect(request.flag.reason == .superseded && !request.flag.isStopped && !refinement.flag.isStopped)
            // Typed along but the model is needed: the refinement stops, so the first answer is not delayed.
            state.supersedeCompletionWork(uri: "f", prefix: prefix + Array("pri".utf8), suffix: suffix, needsModel: true)
            #expect(!request.flag.isStopped && refinement.flag.isStopped)
            // Another line, other text after the cursor, or too much typed: everything stops.
            for (newPrefix, newSuffix) in [(prefix + Array("x\n".utf8), suffix), (prefix, suffix + [0x20]),
                                           (prefix + Array(repeating: 0x61, count: 33), suffix), (Array(prefix.dropLast()), suffix)] {
                state.completionWork = [:]
                request = work(refinement: false)
                refinement = work(refinement: true)
                state.supersedeCompletionWork(uri: "f", prefix: newPrefix, suffix: newSuffix, needsModel: false)
                #expect(request.flag.isStopped && refinement.flag.isStopped)
            }
            // A closed document stops its work; finished work is forgotten.
            state.completionWork = [:]
            request = work(refinement: false)
            state.stopCompletionWork(uri: "g")
            #expect(!request.flag.isStopped)
            state.stopCompletionWork(uri: "f")
            #expect(request.flag.isStopped)
            state.removeCompletionWork(flag: request.flag, uri: "f")
            #expect(state.completionWork.isEmpty)
        }

        /// A generation the user types along stops itself once what it writes and what was typed
        /// disagree: its answer could never be shown.
        @Test func aGenerationStopsWhenTheTypedTextDisagreesWithIt() {
            var state = LanguageServer.State(configuration: ServerConfiguration())
            let prefix = Array("let total = ".utf8), suffix = Array("\n".utf8)
            let flag = CancellationFlag(outlivesCancellation: true)
            state.addCompletionWork(CompletionWork(flag: flag, prefix: prefix, suffix: suffix, isRefinement: false), uri: "f")
            func progress(_ text: String, candidate: Int = 0) -> CompletionProgress {
                CompletionProgress(candidate: candidate, tokens: 1, text: Array(text.utf8))
            }
            #expect(!flag.shouldStop(progress("prices.sum()")))
            state.supersedeCompletionWork(uri: "f", prefix: prefix + Array("pri".utf8), suffix: suffix, needsModel: false)
            // Written so far shorter or longer than the typed text, agreeing with it: it goes on.
            #expect(!flag.shouldStop(progress("pr")) && !flag.shouldStop(progress("prices.sum()")))
            // Later candidates are not the greedy text the typing cache is checked against first.
            #expect(!flag.shouldStop(progress("count", candidate: 1)) && !flag.isStopped)
            #expect(flag.shouldStop(progress("prod")) && flag.isStopped)
            #expect(flag.shouldStop(progress("pr")), "stopped for good")
        }

        @Test func aCompletionsGenerationOutlivesItsCancellationUntilStopped() {
            let completion = CancellationFlag(outlivesCancellation: true)
            completion.cancel(.client)
            #expect(completion.reason == .client && !completion.isStopped)
            completion.stop()
            #expect(completion.reason == .client && completion.isStopped)
            let action = CancellationFlag()
            action.cancel(.client)
            #expect(action.isStopped)
        }
    }
}

extension ServerConfiguration {
    func with(tiered: Bool?) -> ServerConfiguration {
        var copy = self
        copy.tiered = tiered
        return copy
    }
}
