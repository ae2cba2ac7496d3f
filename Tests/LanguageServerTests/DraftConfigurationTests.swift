import Foundation
import JSONRPC
import Model
import Synchronization
import TestFixtures
import Testing

@testable import LanguageServer

extension LanguageServerModuleTests {
    @Suite struct DraftConfigurationTests {
        @Test func draftAndLookupSettings() throws {
            var configuration = ServerConfiguration()
            #expect(configuration.speculation == nil)
            #expect(configuration.apply(try JSONValue(parsing: (#"{"draft": "/models/student.gguf"}"#))).isEmpty)
            #expect(configuration.draftPath == "/models/student.gguf")
            #expect(configuration.speculation?.promptLookup == true)
            #expect(configuration.apply(try JSONValue(parsing: (#"{"understudy": {"draft": "none", "lookup": true}}"#))).isEmpty)
            #expect(configuration.draftPath == nil && configuration.speculation?.promptLookup == true)
            #expect(configuration.apply(try JSONValue(parsing: (#"{"lookup": null, "draft": null}"#))).isEmpty)
            #expect(configuration.speculation == nil)
            let problems = configuration.apply(try JSONValue(parsing: (#"{"draft": 3, "lookup": "yes"}"#)))
            #expect(problems.map(\.key).sorted() == ["draft", "lookup"])
        }

        /// The worker builds a drafting pipeline from the settings, and a draft model with another
        /// vocabulary is a failure that says so (and what to set instead).
        @Test func workerDraftsOrExplainsTheMismatch() throws {
            let worker = ModelWorker()
            var configuration = TestModel.configuration()
            configuration.lookup = true
            let speculation = Mutex<SpeculationSettings?>(nil)
            worker.submit(configuration: configuration) { result in
                if case .success(let pipeline) = result { speculation.withLock { $0 = pipeline.speculation } }
            }
            worker.drain()
            #expect(speculation.withLock { $0 }?.promptLookup == true)

            let vocabulary = Fixtures.byteVocabulary(merges: ["ab", "cd"])
            let config = Fixtures.config(vocabularySize: vocabulary.tokens.count)
            let path = Fixtures.temporaryPath("foreign.gguf")
            try LlamaFileWriter.write(config: config, tokenizer: vocabulary, tiedOutput: false, matrixType: .f32, name: "foreign",
                                      tensor: RandomLlamaWeights(config: config, seed: 3, scale: 0.3).tensor, to: path)
            defer { unlink(path) }
            configuration.draftPath = path
            let message = Mutex<String?>(nil)
            worker.submit(configuration: configuration) { result in
                if case .failure(let problem) = result { message.withLock { $0 = problem.description } }
            }
            worker.drain()
            let text = message.withLock { $0 } ?? ""
            #expect(text.contains("vocabulary mismatch") && text.contains("\"draft\": \"none\""), "\(text)")
        }

        /// A separate teacher drafts with the completion model when that is a student of it (the same
        /// vocabulary here), and with prompt lookup alone when it is not; neither is a failure.
        @Test func aTeacherDraftsWithItsStudentOrByLookupAlone() throws {
            let worker = ModelWorker()
            var configuration = TestModel.configuration()
            configuration.modelPath = Fixtures.otherLettersModelPath
            configuration.teacherPath = Fixtures.lettersModelPath
            let seen = Mutex<[String]>([])
            for teacher in [Fixtures.lettersModelPath, Fixtures.chatLettersModelPath] {
                configuration.teacherPath = teacher
                worker.submit(configuration: configuration, role: .teacher) { result in
                    let line: String
                    switch result {
                    case .success(let pipeline):
                        line = "\(pipeline.speculation?.promptLookup == true) \(pipeline.draft?.model.path ?? "none")"
                    case .failure(let problem):
                        line = "\(problem)"
                    }
                    seen.withLock { $0.append(line) }
                }
            }
            worker.drain()
            #expect(seen.withLock { $0 } == ["true \(Fixtures.otherLettersModelPath)", "true none"])
        }
    }
}
