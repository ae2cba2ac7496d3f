import Foundation
import Kernels
import Model
import Testing
import TestFixtures
@testable import Training

struct TeacherPassTests {
    static let documents = ["let a = 1\n", "func f() {\n    return 2\n}\n", "x", "", "print(\"é\")\nreturn let in\n", "in in in let\n"]
    static let settings = TeacherPassSettings(samples: 8, temperature: 1.5, window: 8, seed: 5, documentsPerPart: 2)

    static func fixture() throws -> (TokenShard, LlamaModel, String) {
        let (model, _) = try Fixtures.randomModel()
        let tokenizer = try BPETokenizer(gguf: model.file)
        var writer = TokenShardWriter(vocabularySize: tokenizer.vocabularySize, endOfText: tokenizer.specials.endOfText!)
        for doc in documents { try writer.append(text: Array(doc.utf8), tokens: tokenizer.encode(doc)) }
        let directory = Fixtures.temporaryDirectory()
        try writer.write(to: directory + "/t.shard")
        return (try TokenShard(path: directory + "/t.shard"), model, directory)
    }

    static func pass(_ shard: TokenShard, _ model: LlamaModel, _ directory: String,
                     settings: TeacherPassSettings = settings) throws -> TeacherPass {
        try TeacherPass(directory: directory + "/pass", shard: shard, settings: settings, teacherFingerprint: 42,
                        teacherVocabularySize: model.config.vocabularySize)
    }

    /// Each window of a document runs from an empty cache, and position k's samples are drawn with the
    /// generator of (seed, document, k): the reference recomputes them the plain way.
    @Test func storesTheTeachersSamplesOfEveryPositionInFileOrder() throws {
        let (shard, model, directory) = try Self.fixture()
        let pass = try Self.pass(shard, model, directory)
        #expect(pass.partCount == 3)
        #expect(pass.order.sorted() == Array(0..<Self.documents.count))
        let runner = try TeacherPassRunner(model: model, window: Self.settings.window, threads: 2)
        for p in 0..<pass.partCount { try pass.computePart(p, teacher: runner) }
        let loaded = try pass.load()
        #expect(loaded.count == Self.documents.count)

        let tokenizer = try BPETokenizer(gguf: model.file)
        let vocab = model.config.vocabularySize
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: vocab)
        defer { scratch.deallocate() }
        for (d, text) in Self.documents.enumerated() {
            let stored = try #require(loaded[d])
            let tokens = tokenizer.encode(text) + [tokenizer.specials.endOfText!]
            #expect(stored.tokens == tokens)
            #expect(stored.pairStarts.count == tokens.count)
            var reference: [[SampledToken]] = []
            for start in stride(from: 0, to: tokens.count - 1, by: Self.settings.window) {
                let context = InferenceContext(model: model, contextSize: 16, threads: 1)
                let rows = try context.appendReturningAllLogits(Array(tokens[start..<min(tokens.count - 1, start + Self.settings.window)]))
                for (i, row) in rows.enumerated() {
                    var rng = TeacherSampling.generator(seed: Self.settings.seed, step: d, position: start + i)
                    reference.append(row.withUnsafeBufferPointer {
                        TeacherSampling.sample(logits: $0.baseAddress!, count: vocab, temperature: Self.settings.temperature,
                                               samples: Self.settings.samples, rng: &rng, weights: scratch)
                    })
                }
            }
            for k in 0..<(tokens.count - 1) {
                let samples = stored.samples(at: k)
                #expect(samples.map(\.token) == reference[k].map(\.token))
                #expect(samples.map { UInt16($0.count) } == reference[k].map(\.count))
                #expect(samples.reduce(0) { $0 + Int($1.count) } == Self.settings.samples)
            }
        }
    }

    @Test func resumesFromThePartsOnDiskAndRefusesOtherSettings() throws {
        let (shard, model, directory) = try Self.fixture()
        let pass = try Self.pass(shard, model, directory)
        let runner = try TeacherPassRunner(model: model, window: Self.settings.window, threads: 1)
        try pass.computePart(1, teacher: runner)
        #expect(try (0..<pass.partCount).map { try pass.hasPart($0) } == [false, true, false])
        #expect(try pass.load().keys.sorted() == pass.documents(ofPart: 1).sorted())
        #expect(try pass.coveredDocuments() == pass.documents(ofPart: 1).sorted())

        var other = Self.settings
        other.temperature = 2
        let mismatched = try Self.pass(shard, model, directory, settings: other)
        #expect {
            _ = try mismatched.hasPart(1)
        } throws: { error in
            guard case DistillationError.cacheMismatch(_, let field, _, _) = error else { return false }
            return field == "temperature"
        }
    }

    @Test func damagedPartsAreErrorsNotCrashes() throws {
        let (shard, model, directory) = try Self.fixture()
        let pass = try Self.pass(shard, model, directory)
        try pass.computePart(0, teacher: try TeacherPassRunner(model: model, window: Self.settings.window, threads: 1))
        let path = pass.path(ofPart: 0)
        let bytes = [UInt8](FileManager.default.contents(atPath: path)!)
        for cut in [bytes.count - 1, bytes.count / 2, 70, 10] {
            try Data(bytes.prefix(cut)).write(to: URL(fileURLWithPath: path))
            #expect(throws: DistillationError.self) { _ = try pass.load() }
        }
        #expect(throws: DistillationError.self) {
            try TeacherPass(directory: directory + "/p2", shard: shard, settings: TeacherPassSettings(samples: 256),
                            teacherFingerprint: 1, teacherVocabularySize: 10)
        }
    }
}
