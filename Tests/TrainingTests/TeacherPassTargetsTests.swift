import Foundation
import Model
import Testing
import TestFixtures
@testable import Training

/// Windows annotated with where their tokens come from, and the teacher-pass targets matched through them.
struct TeacherPassTargetsTests {
    static let documents = [
        "func add(_ a: Int, _ b: Int) -> Int {\n    return a + b\n}\n",
        "let values = [1, 2, 3]\nfor v in values {\n    print(v)\n}\n",
        "x",
        "def f(x):\n    return x * 2\n\nprint(f(3))  # é\n",
        "    return let in in\n    return\n",
    ]

    static func fixture() throws -> (TokenShard, LlamaModel, BPETokenizer, String) {
        let (model, _) = try Fixtures.randomModel()
        let tokenizer = try BPETokenizer(gguf: model.file)
        var writer = TokenShardWriter(vocabularySize: tokenizer.vocabularySize, endOfText: tokenizer.specials.endOfText!)
        for doc in documents { try writer.append(text: Array(doc.utf8), tokens: tokenizer.encode(doc)) }
        let directory = Fixtures.temporaryDirectory()
        try writer.write(to: directory + "/t.shard")
        return (try TokenShard(path: directory + "/t.shard"), model, tokenizer, directory)
    }

    /// The fixture's teacher pass (in directory/pass) with every part computed.
    static func computedPass(_ settings: TeacherPassSettings, shard: TokenShard, model: LlamaModel, directory: String) throws -> TeacherPass {
        let pass = try TeacherPass(directory: directory + "/pass", shard: shard, settings: settings, teacherFingerprint: 1,
                                   teacherVocabularySize: model.config.vocabularySize)
        let runner = try TeacherPassRunner(model: model, window: settings.window, threads: 1)
        for p in 0..<pass.partCount { try pass.computePart(p, teacher: runner) }
        return pass
    }

    @Test func annotationsPointAtTheTokensOwnBytesAndLeaveTheWindowUnchanged() throws {
        let (shard, _, tokenizer, _) = try Self.fixture()
        let loader = try WindowLoader(shards: [shard], tokenizer: tokenizer, length: 40, seed: 3, fimRate: 0.7, spmRate: 0.5)
        var markers = 0, located = 0
        for index in 0..<300 {
            let (tokens, sources) = loader.annotatedWindow(at: index)
            #expect(tokens == loader.window(at: index))
            #expect(sources.count == tokens.count)
            for (token, source) in zip(tokens, sources) {
                guard let source else { continue }
                let text = shard.text(ofDocument: source.document)
                if tokenizer.isControl(token) {
                    // A FIM marker before a piece: an empty range where the piece starts.
                    #expect(source.start == source.end && source.end <= text.count)
                    markers += 1
                } else {
                    #expect(Array(text[source.start..<source.end]) == tokenizer.tokenBytes(token))
                    located += 1
                }
            }
        }
        #expect(markers > 50 && located > 2000)
    }

    @Test func aDocumentListConfinesTheWindows() throws {
        let (shard, _, tokenizer, _) = try Self.fixture()
        let all = try WindowLoader(shards: [shard], tokenizer: tokenizer, length: 24, seed: 9, fimRate: 0.5)
        let listedAll = try WindowLoader(shards: [shard], tokenizer: tokenizer, length: 24, seed: 9, fimRate: 0.5,
                                         documents: [Array(0..<Self.documents.count)])
        for i in 0..<50 { #expect(all.window(at: i) == listedAll.window(at: i)) }
        let some = try WindowLoader(shards: [shard], tokenizer: tokenizer, length: 24, seed: 9, fimRate: 0.5, documents: [[1, 3]])
        #expect(some.totalTokens == shard.tokens(ofDocument: 1).count + shard.tokens(ofDocument: 3).count)
        for i in 0..<100 {
            for source in some.annotatedWindow(at: i).sources.compactMap({ $0 }) { #expect([1, 3].contains(source.document)) }
        }
        #expect(throws: CorpusError.self) {
            try WindowLoader(shards: [shard], tokenizer: tokenizer, length: 24, seed: 9, documents: [[7]])
        }
    }

    /// Every matched position gets the samples the teacher drew after the same text, predicting the same
    /// token; plain windows match everywhere inside a document, FIM windows in prefix and middle only.
    @Test func targetsAreTheTeachersSamplesAfterTheSameText() throws {
        let (shard, model, tokenizer, directory) = try Self.fixture()
        let settings = TeacherPassSettings(samples: 16, temperature: 1, window: 64, seed: 2, documentsPerPart: 2)
        let pass = try Self.computedPass(settings, shard: shard, model: model, directory: directory)
        let reopened = try #require(try TeacherPass.open(directory: directory + "/pass", shard: shard))
        #expect(reopened.settings == settings && reopened.teacherFingerprint == 1 && reopened.teacherVocabularySize == model.config.vocabularySize)
        let targets = try TeacherPassTargets(passes: [reopened], teacherTokenBytes: tokenizer.tokenBytes,
                                             teacherVocabularySize: tokenizer.vocabularySize,
                                             studentToTeacher: (0..<Int32(tokenizer.vocabularySize)).map { $0 })
        #expect(targets.coveredDocuments == [Array(0..<Self.documents.count)])
        let stored = try pass.load()

        for fimRate in [0.0, 1.0] {
            let loader = try WindowLoader(shards: [shard], tokenizer: tokenizer, length: 33, seed: 4, fimRate: fimRate, spmRate: 0.5)
            var matched = 0, unmatchedInsideText = 0
            for index in 0..<200 {
                let (tokens, sources) = loader.annotatedWindow(at: index)
                let rows = targets.targets(tokens: tokens, sources: sources, sequence: 32)
                for j in 0..<32 {
                    guard !rows[j].isEmpty else {
                        if fimRate == 0, let a = sources[j], let b = sources[j + 1], a.document == b.document, b.end > b.start, a.end > 0 {
                            unmatchedInsideText += 1
                        }
                        continue
                    }
                    matched += 1
                    let here = try #require(sources[j]), document = try #require(stored[here.document])
                    // The teacher position whose tokens spell the same text as the student's so far.
                    let k = try #require((0..<(document.tokens.count - 1)).first { tokenizer.decode(Array(document.tokens[0...$0])).count == here.end })
                    #expect(document.tokens[k + 1] == tokens[j + 1])
                    #expect(rows[j] == document.samples(at: k).map { TeacherProbability(token: $0.token, probability: Float($0.count) / 16) })
                }
            }
            #expect(matched > 1000, "fim rate \(fimRate)")
            // Same tokenizer, plain windows: every position inside a document's text is matched.
            if fimRate == 0 { #expect(unmatchedInsideText == 0) }
        }
    }

    /// A computed pass over the fixture (8 samples, T = 1) with targets for a student of the teacher's own
    /// vocabulary: all of them, and the variant the flags choose (`withoutFIMPieces`: the suffix and
    /// end-of-text markers given, as `--no-teacher-pass-fim` does).
    static func targetsBothWays(withoutFIMPieces: Bool = false, middleTargets: Bool = true) throws
        -> (shard: TokenShard, tokenizer: BPETokenizer, all: TeacherPassTargets, variant: TeacherPassTargets) {
        let (shard, model, tokenizer, directory) = try fixture()
        let pass = try computedPass(TeacherPassSettings(samples: 8, temperature: 1, window: 64, seed: 2, documentsPerPart: 8),
                                    shard: shard, model: model, directory: directory)
        let identity = (0..<Int32(tokenizer.vocabularySize)).map { $0 }
        let markers = withoutFIMPieces
            ? (suffix: try #require(tokenizer.specials.fimSuffix), end: try #require(tokenizer.specials.endOfText)) : nil
        func targets(_ markers: (suffix: Int32, end: Int32)?, _ middle: Bool) throws -> TeacherPassTargets {
            try TeacherPassTargets(passes: [pass], teacherTokenBytes: tokenizer.tokenBytes, teacherVocabularySize: tokenizer.vocabularySize,
                                   studentToTeacher: identity, suffixMarkers: markers, middleTargets: middle)
        }
        return (shard, tokenizer, try targets(nil, true), try targets(markers, middleTargets))
    }

    /// Without FIM pieces, positions after a FIM suffix in the window, up to the example's end, lose their
    /// targets: a plain window keeps all of them.
    @Test func withoutFIMPiecesPositionsAfterASuffixGetNoTargets() throws {
        let (shard, tokenizer, all, plainOnly) = try Self.targetsBothWays(withoutFIMPieces: true)
        let suffixID = try #require(tokenizer.specials.fimSuffix), endID = try #require(tokenizer.specials.endOfText)
        for fimRate in [0.0, 1.0] {
            let loader = try WindowLoader(shards: [shard], tokenizer: tokenizer, length: 33, seed: 4, fimRate: fimRate, spmRate: 1)
            var kept = 0, dropped = 0
            for index in 0..<100 {
                let (tokens, sources) = loader.annotatedWindow(at: index)
                let full = all.targets(tokens: tokens, sources: sources, sequence: 32)
                let plain = plainOnly.targets(tokens: tokens, sources: sources, sequence: 32)
                for j in 0..<32 where !full[j].isEmpty {
                    let lastSuffix = tokens[...j].lastIndex(of: suffixID), lastEnd = tokens[...j].lastIndex(of: endID)
                    let readAhead = lastSuffix.map { s in lastEnd.map { $0 < s } ?? true } ?? false
                    #expect(plain[j] == (readAhead ? [] : full[j]))
                    if readAhead { dropped += 1 } else { kept += 1 }
                }
            }
            if fimRate == 0 { #expect(dropped == 0 && kept > 0) } else { #expect(dropped > 0) }
        }
    }

    /// Without middle targets, the positions that predict a token of a FIM middle lose theirs; the prefix
    /// of the same examples and plain windows keep all of them.
    @Test func withoutMiddleTargetsOnlyPositionsPredictingTheMiddleLoseThem() throws {
        let (shard, tokenizer, all, noMiddle) = try Self.targetsBothWays(middleTargets: false)
        for fimRate in [0.0, 1.0] {
            let loader = try WindowLoader(shards: [shard], tokenizer: tokenizer, length: 33, seed: 4, fimRate: fimRate, spmRate: 0.5)
            var keptInFIM = 0, dropped = 0
            for index in 0..<100 {
                let (tokens, sources) = loader.annotatedWindow(at: index)
                let full = all.targets(tokens: tokens, sources: sources, sequence: 32)
                let kept = noMiddle.targets(tokens: tokens, sources: sources, sequence: 32)
                for j in 0..<32 where !full[j].isEmpty {
                    let predictsMiddle = sources[j + 1]?.isMiddle ?? false
                    #expect(kept[j] == (predictsMiddle ? [] : full[j]))
                    if predictsMiddle { dropped += 1 } else if fimRate > 0 { keptInFIM += 1 }
                }
            }
            if fimRate == 0 { #expect(dropped == 0) } else { #expect(dropped > 0 && keptInFIM > 0) }
        }
    }

    @Test func teacherTokensOutsideTheStudentsVocabularyAreDropped() throws {
        let (shard, model, tokenizer, directory) = try Self.fixture()
        let settings = TeacherPassSettings(samples: 8, temperature: 3, window: 64, seed: 2, documentsPerPart: 8)
        let pass = try TeacherPass(directory: directory + "/pass", shard: shard, settings: settings, teacherFingerprint: 1,
                                   teacherVocabularySize: model.config.vocabularySize)
        try pass.computePart(0, teacher: try TeacherPassRunner(model: model, window: 64, threads: 1))
        // The student lacks teacher token 40: it maps to nothing, and no target names it.
        var map = (0..<Int32(tokenizer.vocabularySize)).map { $0 }
        map[40] = -1
        let targets = try TeacherPassTargets(passes: [pass], teacherTokenBytes: tokenizer.tokenBytes,
                                             teacherVocabularySize: tokenizer.vocabularySize, studentToTeacher: map)
        let loader = try WindowLoader(shards: [shard], tokenizer: tokenizer, length: 33, seed: 4, fimRate: 0)
        var seen = 0
        for index in 0..<100 {
            let (tokens, sources) = loader.annotatedWindow(at: index)
            for row in targets.targets(tokens: tokens, sources: sources, sequence: 32) {
                #expect(!row.contains { $0.token == 40 })
                seen += row.count
            }
        }
        #expect(seen > 0)
    }
}
