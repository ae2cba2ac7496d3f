import Foundation
import Model
import TestFixtures
import Testing
@testable import Training

/// Tiny generated models and temporary folders for the corpus and evaluation tests (nothing binary is committed).
enum EvalFixtures {
    /// The fixture vocabulary with a few merges for common code fragments.
    static func vocabulary() -> TokenizerMetadata {
        Fixtures.byteVocabulary(merges: ["  ", "    ", "le", "let", "re", "in", "et", "ret", "retu", "return"])
    }

    static func tokenizer() throws -> BPETokenizer { try vocabulary().makeTokenizer() }

    /// A random llama (dim 32, 2 layers, context 128) with the fixture vocabulary, loaded from a temporary GGUF.
    static func model(seed: UInt64 = 3) throws -> LlamaModel {
        let vocabulary = vocabulary()
        let config = LlamaConfig(vocabularySize: vocabulary.tokens.count, dim: 32, hiddenDim: 48, layers: 2, heads: 4,
                                 kvHeads: 2, contextLength: 128)
        let weights = RandomLlamaWeights(config: config, seed: seed, scale: 0.3)
        let path = temporaryDirectory() + "/model.gguf"
        try LlamaFileWriter.write(config: config, tokenizer: vocabulary, tiedOutput: false, matrixType: .f32,
                                  name: "eval-fixture", tensor: weights.tensor, to: path)
        return try LlamaModel(path: path)
    }

    /// A fresh empty directory under the system's temporary folder.
    static func temporaryDirectory() -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("understudy-corpus-tests-\(UUID().uuidString)").path
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func write(_ text: String, to path: String) throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    }

    static let swiftSource = """
    struct Point {
        var x: Int
        var y: Int

        func moved(by dx: Int) -> Point {
            let nx = x + dx
            return Point(x: nx, y: y)
        }
    }

    func total(_ values: [Int]) -> Int {
        var sum = 0
        for value in values { sum += value }
        return sum
    }

    """
}

/// −log2 p(token) from logits, written out plainly in Double for the reference.
private func referenceBits(_ logits: [Float], _ token: Int32) -> Double {
    let m = logits.map(Double.init).max()!
    let z = logits.reduce(0.0) { $0 + exp(Double($1) - m) }
    return -((Double(logits[Int(token)]) - m) - log(z)) / log(2.0)
}

struct EvalModelTests {
    @Test func bitsPerByteOfOneWindowMatchesHandComputedLogits() throws {
        let model = try EvalFixtures.model()
        let text = Array("let x = 1\nreturn x\n".utf8)
        let ids = [Int32(0)] + model.tokenizer.encode(bytes: text)
        // The reference runs token by token (the generation path), not the batched path the meter uses.
        let reference = InferenceContext(model: model, threads: 1)
        var bits = 0.0
        for i in 0..<(ids.count - 1) {
            let logits = try reference.append([ids[i]])
            bits += referenceBits(logits, ids[i + 1])
        }
        var meter = BitsPerByteMeter(context: InferenceContext(model: model, threads: 1))
        let measured = try meter.measure(text)
        #expect(measured.bytes == text.count)
        #expect(meter.tokens == ids.count - 1)
        #expect(abs(measured.bits - bits) < 1e-3 * bits)
        #expect(abs(meter.bitsPerByte - bits / Double(text.count)) < 1e-5)
    }

    @Test func slidingWindowsScoreEachTokenOnceWithTheirOwnContext() throws {
        let model = try EvalFixtures.model()
        let text = Array(EvalFixtures.swiftSource.prefix(120).utf8)
        let ids = [Int32(0)] + model.tokenizer.encode(bytes: text)
        let window = 16, stride = 6
        #expect(ids.count > 3 * window)
        // By hand: token t (t ≥ 1) is predicted from the window that first scores it.
        let reference = InferenceContext(model: model, threads: 1)
        var bits = 0.0
        var scored = 1
        while scored < ids.count {
            let end = scored == 1 ? min(ids.count, window) : min(ids.count, scored + stride)
            let begin = max(0, end - window)
            reference.reset()
            for i in begin..<(end - 1) {
                let logits = try reference.append([ids[i]])
                if i + 1 >= scored { bits += referenceBits(logits, ids[i + 1]) }
            }
            scored = end
        }
        var meter = BitsPerByteMeter(context: InferenceContext(model: model, threads: 1), window: window, stride: stride)
        let measured = try meter.measure(text)
        #expect(meter.tokens == ids.count - 1)
        #expect(measured.bytes == text.count)
        #expect(abs(measured.bits - bits) < 1e-3 * bits)
    }

    @Test func evaluationEndToEndOnATinyDirectory() throws {
        let model = try EvalFixtures.model()
        let files: [(path: String, contents: [UInt8])] = [
            ("a.swift", Array(EvalFixtures.swiftSource.utf8)),
            ("b.swift", Array("let a = 1\nlet b = 2\nlet c = a + b\nprint(c)\n".utf8)),
        ]
        let evaluator = ModelEvaluator(model: model, threads: 1, promptTokens: 64)
        let options = ModelEvaluator.Options(samples: 12, seed: 5, maxNewTokens: 8)
        var phases: Set<String> = []
        var cases: [CompletionCase] = []
        let report = try evaluator.evaluate(files: files, language: "swift", data: "tiny", options: options,
                                            progress: { phase, _, _ in phases.insert(phase.rawValue) },
                                            onCase: { cases.append($0) })
        #expect(phases == ["bpb", "lines"])
        // Every position is reported, with the answers the scores were computed from.
        #expect(cases.count == 12)
        let caseMatches = cases.filter { CompletionMetrics.exactMatch($0.completion, $0.target) }.count
        #expect(Double(caseMatches) / 12 == report.completion.exactMatch)
        let baselineMatches = cases.filter { CompletionMetrics.exactMatch($0.frequentContinuation, $0.target) }.count
        #expect(Double(baselineMatches) / 12 == report.frequentContinuation.exactMatch)
        for item in cases {
            let lines = String(decoding: files.first { $0.path == item.file }!.contents, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
            #expect(String(lines[item.line - 1]).hasPrefix(item.typed + item.target))
        }
        #expect(report.files == 2)
        #expect(report.bytes == files.reduce(0) { $0 + $1.contents.count })
        #expect(report.samples == 12)
        #expect(report.parameters == model.parameterCount)
        #expect(report.fileBytes > 0)
        #expect(report.bitsPerByte > 0 && report.bitsPerByte.isFinite)
        #expect(report.promptTokens == 64)
        // Every target holds a non-blank character, so the empty completion never matches and has ES 0.
        #expect(report.noModel == CompletionScores(exactMatch: 0, editSimilarity: 0))
        #expect(report.completion.latencyP50Ms! > 0 && report.completion.latencyP95Ms! >= report.completion.latencyP50Ms!)

        // The model's scores are exactly those of the language server's pipeline at the same positions
        // (asked as the editor asks while typing, cut to the first line).
        let tasks = CompletionTask.sample(files: files.map(\.contents), count: 12, seed: 5)
        let pipeline = CompletionPipeline(model: model, threads: 1, promptTokens: 64)
        var matches = 0, similarity = 0.0, frequentSimilarity = 0.0
        for task in tasks {
            let file = files[task.file].contents
            let input = CompletionInput(uri: files[task.file].path, languageId: "swift", prefix: Array(file[..<task.cursor]),
                                        suffix: Array(file[task.lineEnd...]))
            let outcome = try pipeline.complete(input, settings: .atCursor(input, maxNewTokens: 8))
            let text = String((outcome.candidates.first ?? "").prefix { $0 != "\n" })
            if CompletionMetrics.exactMatch(text, task.target) { matches += 1 }
            similarity += CompletionMetrics.editSimilarity(text, task.target)
            frequentSimilarity += CompletionMetrics.editSimilarity(FrequentContinuation.complete(task, in: file), task.target)
        }
        #expect(report.completion.exactMatch == Double(matches) / 12)
        #expect(abs(report.completion.editSimilarity - similarity / 12) < 1e-12)
        #expect(abs(report.frequentContinuation.editSimilarity - frequentSimilarity / 12) < 1e-12)

        let json = try JSONSerialization.jsonObject(with: Data(report.json.utf8)) as! [String: Any]
        #expect(json["samples"] as? Int == 12)
        #expect((json["noModel"] as? [String: Any])?["exactMatch"] as? Double == 0)
        #expect(report.table.contains("frequent continuation"))
    }
}
