import Foundation
import Kernels
import TestFixtures
import Testing
@testable import Model

/// A teacher prompted like SmolLM2 (no FIM tokens: prefix only, a `<file_sep>` file header, token
/// healing), its vocabulary the fixtures' with all code merges.
private let teacherVocabulary = Fixtures.byteVocabulary(merges: Fixtures.codeMerges, controls: ["<|endoftext|>", "<file_sep>"])

/// A student vocabulary cut from the teacher's like `understudy tokenizer subset` cuts one: the FIM
/// tokens added (teacher id -1), the bytes, and only some of the merges, so that the teacher often
/// picks tokens the student lacks ("retu", "in").
private let studentVocabulary: TokenizerMetadata = {
    var vocabulary = Fixtures.byteVocabulary(merges: ["  ", "    ", "re", "et"])
    let teacher = try! teacherVocabulary.makeTokenizer()
    vocabulary.teacherTokenIDs = vocabulary.tokens.enumerated().map { id, text in
        id == 0 ? 0 : id < 5 ? -1 : teacher.id(ofTokenText: text)!
    }
    vocabulary.teacherVocabularySize = teacherVocabulary.tokens.count
    return vocabulary
}()

/// Code with repeated lines, so that prompt lookup finds long matches.
private let source = Array("""
import os

def read(path):
    with open(path) as handle:
        return handle.read()

def write(path, text):
    with open(path, "w") as handle:
        return handle.write(text)

def main():
    for name in os.listdir("."):
        if name.endswith(".py"):
            print(read(name))
    return 0

""".utf8)

private func teacherModel() throws -> LlamaModel {
    try Fixtures.randomModel(vocabulary: teacherVocabulary, type: .q4_1, tiedOutput: true, scale: 0.5, seed: 21).0
}

/// Cursor positions spread over the file: line starts, mid-word (healing), line ends.
private func positions(count: Int) -> [Int] {
    var rng = SplitMix64(seed: 5)
    return (0..<count).map { _ in 1 + Int(rng.next() % UInt64(source.count - 1)) }
}

/// The outcome of the same input with drafts on and off is the same text, token counts and stop
/// reason; returns the drafting statistics.
private func expectSameOutcomes(_ pipeline: CompletionPipeline, count: Int = 40, sampled: Bool = true) throws -> DraftStatistics {
    var statistics = DraftStatistics()
    for (index, offset) in positions(count: count).enumerated() {
        let input = CompletionInput(uri: "file:///work/tool.py", languageId: "python",
                                    prefix: Array(source[..<offset]), suffix: Array(source[offset...]))
        for multiLine in [false, true] {
            var settings = CompletionSettings(candidates: sampled && index % 5 == 0 ? 2 : 1, multiLine: multiLine, maxNewTokens: 24)
            settings.draftKinds = []
            let alone = try pipeline.complete(input, settings: settings)
            let cacheAlone = pipeline.context.tokens
            settings.draftKinds = Set(DraftKind.allCases)
            let drafted = try pipeline.complete(input, settings: settings)
            #expect(drafted.candidates == alone.candidates, "offset \(offset), multiLine \(multiLine)")
            #expect(drafted.generatedTokens == alone.generatedTokens, "offset \(offset), multiLine \(multiLine)")
            #expect(drafted.stopReason == alone.stopReason, "offset \(offset), multiLine \(multiLine)")
            #expect(pipeline.context.tokens == cacheAlone, "offset \(offset): the cache after a drafted generation")
            #expect(alone.drafting == DraftStatistics())
            statistics.add(drafted.drafting)
        }
    }
    return statistics
}

/// Greedy generation with drafts is the teacher's own, token for token, at many positions, single- and
/// multi-line, with healing; drafts by prompt lookup and by a student whose vocabulary is a subset of
/// the teacher's (prompted FIM with the suffix), some accepted and some rolled back.
@Test func draftedCompletionsEqualTheTeachers() throws {
    let teacher = try teacherModel()
    let (student, _) = try Fixtures.randomModel(vocabulary: studentVocabulary, type: .q8_0, scale: 0.5, seed: 22)
    let pipeline = try CompletionPipeline(model: teacher, threads: 2, promptTokens: 80, speculation: SpeculationSettings(),
                                          draftModel: student)
    #expect(pipeline.promptStyle == .prefixOnly(fileHeaderToken: 1))
    #expect(pipeline.draft?.promptStyle == .fim(.spm))
    let statistics = try expectSameOutcomes(pipeline)
    for kind in DraftKind.allCases {
        let counts = statistics[kind]
        #expect(counts.rounds > 0, "\(kind): \(counts)")
        #expect(counts.accepted < counts.drafted, "\(kind): some drafts rejected and rolled back: \(counts)")
    }
    // A random teacher repeats its prompt only by chance (prompt lookup's acceptance: `promptLookupAloneKeepsTheOutput`);
    // the student, trained or not, shares its vocabulary and agrees with it on some tokens.
    #expect(statistics.model.accepted > 0, "\(statistics.model)")
    #expect(statistics.resynchronisations > 0, "the teacher picked tokens outside the student's vocabulary")
}

/// A draft model identical to the teacher is always right: every drafted token is accepted (long
/// acceptances), and the output is still the teacher's.
@Test func aPerfectDraftIsAlwaysAccepted() throws {
    let teacher = try teacherModel()
    let pipeline = try CompletionPipeline(model: teacher, threads: 2, promptTokens: 80,
                                          speculation: SpeculationSettings(promptLookup: false, minProbability: 0),
                                          draftModel: teacher)
    let statistics = try expectSameOutcomes(pipeline, count: 12, sampled: false)
    #expect(statistics.ngram == DraftStatistics.Counts())
    #expect(statistics.model.drafted > 0)
    // Only drafts cut short by a stop (end of line, end of text, the token limit) go unused.
    #expect(statistics.model.acceptanceRate > 0.8, "\(statistics.model)")
    #expect(statistics.model.meanAccepted > 3, "\(statistics.model)")
}

/// Prompt lookup alone, on a model that loops: long runs accepted.
@Test func promptLookupAloneKeepsTheOutput() throws {
    let pipeline = try CompletionPipeline(model: Fixtures.lettersModel, threads: 1, promptTokens: 120,
                                          speculation: SpeculationSettings(), draftModel: nil)
    #expect(pipeline.draft == nil)
    let statistics = try expectSameOutcomes(pipeline, count: 10)
    #expect(statistics.model == DraftStatistics.Counts())
    #expect(statistics.ngram.accepted > 0, "\(statistics.ngram)")
}

/// Sampled candidates are unchanged by drafts too: the drafted logits are the very ones sampling reads.
@Test func sampledGenerationIsUnchangedByDrafts() throws {
    let teacher = try teacherModel()
    let context = InferenceContext(model: teacher, threads: 2)
    let prompt = teacher.tokenizer.encode(bytes: Array(source.prefix(70)))
    let options = GenerationOptions(maxTokens: 40, singleLine: false, sampling: SamplingSettings(temperature: 0.8, seed: 3))
    let alone = try context.generate(prompt: prompt, options: options)
    let drafter = CombinedDrafter(lookup: PromptLookup(minNgram: 1), model: nil)
    let drafted = try context.generate(prompt: prompt, options: options, drafter: drafter)
    #expect(drafted.tokens == alone.tokens && drafted.stopReason == alone.stopReason)
    #expect(drafted.drafting.ngram.drafted > 0)
}

@Test func promptLookupProposesWhatFollowedTheLatestLongestMatch() {
    let lookup = PromptLookup(minNgram: 2, maxNgram: 3, extra: [[7, 8, 9, 4, 5]])
    // [1 2] occurs at 0 and 5; the latest is taken, and what follows it runs into the n-gram itself.
    #expect(lookup.draft(history: [1, 2, 3, 9, 4, 1, 2, 6, 1, 2], limit: 10) == [6, 1, 2])
    // The 3-gram [9 1 2] beats the 2-gram's later occurrence.
    #expect(lookup.draft(history: [9, 1, 2, 3, 3, 1, 2, 5, 9, 1, 2], limit: 2) == [3, 3])
    // Nothing in the history: the extra text.
    #expect(lookup.draft(history: [0, 0, 8, 9], limit: 2) == [4, 5])
    #expect(lookup.draft(history: [0, 1, 2, 3], limit: 4) == [])
}

/// A draft model with another vocabulary is refused with a message that names both and the remedy.
@Test func aForeignVocabularyIsAClearError() throws {
    let teacher = try teacherModel()
    let (other, _) = try Fixtures.randomModel(vocabulary: Fixtures.byteVocabulary(merges: ["ab", "cd"]), seed: 3)
    #expect(throws: SpeculativeError.self) {
        _ = try CompletionPipeline(model: teacher, threads: 1, promptTokens: 64, speculation: SpeculationSettings(), draftModel: other)
    }
    do {
        _ = try DraftVocabulary(draft: other, teacher: teacher)
    } catch {
        #expect(error.description.hasPrefix("vocabulary mismatch"))
        #expect(error.description.contains("--draft none"))
    }
    // A student cut from another teacher: its ids point at tokens that spell something else.
    var wrong = studentVocabulary
    wrong.teacherTokenIDs!.swapAt(100, 101)
    let (misfit, _) = try Fixtures.randomModel(vocabulary: wrong, seed: 4)
    #expect(throws: SpeculativeError.self) { _ = try DraftVocabulary(draft: misfit, teacher: teacher) }
    let (student, _) = try Fixtures.randomModel(vocabulary: studentVocabulary, seed: 4)
    let map = try DraftVocabulary(draft: student, teacher: teacher)
    #expect(!map.isIdentity)
    #expect(map.teacherID(1) == nil && map.teacherID(0) == 0)
    let returnID = teacher.tokenizer.id(ofTokenText: "retu")!
    #expect(map.draftID(returnID) == nil)
    #expect(try DraftVocabulary(draft: teacher, teacher: teacher).isIdentity)
}
