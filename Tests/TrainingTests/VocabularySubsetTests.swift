import Foundation
import Model
import TestFixtures
import Testing
@testable import Training

struct VocabularySubsetTests {
    /// A teacher shaped like SmolLM2's: chat controls first, no FIM tokens, merges learned from code.
    static let teacher: TokenizerMetadata = {
        var trainer = try! BPETrainer(vocabularySize: 900, preTokenizer: "smollm",
                                      specialTokens: ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<file_sep>"])
        for text in BPETokenizerTrainerTests.sampleSources() { trainer.add(Array(text.utf8)) }
        return trainer.train()
    }()

    /// Each teacher token's count in the teacher's encoding of `texts`.
    static func counts(_ texts: [String], teacher: TokenizerMetadata = teacher) throws -> [Int] {
        let tokenizer = try teacher.makeTokenizer()
        var counts = [Int](repeating: 0, count: teacher.tokens.count)
        for text in texts { for id in tokenizer.encode(text) { counts[Int(id)] += 1 } }
        return counts
    }

    /// A student counted on the Python sample only, so the Swift sample's own tokens fall outside it.
    static func subset(size: Int = 600) throws -> VocabularySubset {
        try VocabularySubset(teacher: teacher, counts: counts([BPETokenizerTrainerTests.sampleSources()[1]]), vocabularySize: size)
    }

    /// Every line of the sample sources, some made-up code and some random bytes.
    static func probeTexts() -> [String] {
        var texts = BPETokenizerTrainerTests.sampleSources().flatMap { $0.split(separator: "\n").map { String($0) + "\n" } }
        texts += ["return value\n", "    let x = 1\n", "func zebraQuokka(_ xylophone: Int) -> Int { 42 }\n",
                  "def  ünïcödé(): pass  # ✓\n", "\t\t\r\n", ""]
        var rng = SplitMix64(seed: 3)
        for length in [1, 7, 50, 200] {
            texts.append(String(decoding: (0..<length).map { _ in UInt8(truncatingIfNeeded: rng.next()) }, as: UTF8.self))
        }
        return texts
    }

    /// The teacher's merges applied the slow, obvious way (lowest rank first, leftmost on ties) to each
    /// pre-token: the final token texts and every token built on the way.
    static func reference(_ text: String, vocabulary: TokenizerMetadata) throws -> (tokens: [String], built: Set<String>) {
        let ranks = Dictionary(uniqueKeysWithValues: vocabulary.merges.enumerated().map { ($1, $0) })
        let bytes = Array(text.utf8)
        var tokens: [String] = [], built: Set<String> = []
        for piece in try PreTokenizer(name: vocabulary.preTokenizer).pieces(bytes) {
            var symbols = bytes[piece].map { String(ByteLevelAlphabet.scalars[Int($0)]) }
            built.formUnion(symbols)
            while true {
                let best = symbols.indices.dropLast().compactMap { i in ranks[symbols[i] + " " + symbols[i + 1]].map { ($0, i) } }
                    .min { $0 < $1 }
                guard let (_, i) = best else { break }
                symbols[i] += symbols.remove(at: i + 1)
                built.insert(symbols[i])
            }
            tokens += symbols
        }
        return (tokens, built)
    }

    @Test(arguments: [330, 600]) func everyKeptTokenIsBuiltFromKeptParts(size: Int) throws {
        let subset = try Self.subset(size: size)
        let student = subset.vocabulary
        let kept = Set(student.tokens)
        let teacherIDs = try #require(student.teacherTokenIDs)
        // 600 holds every token the Python sample uses; 330 stops partway.
        // 600 holds every token the Python sample uses (377 with the FIM markers); 330 stops partway, where
        // the next token's closure would not fit.
        #expect(size == 600 ? student.tokens.count == 377 : (320...330).contains(student.tokens.count))
        #expect(student.teacherVocabularySize == Self.teacher.tokens.count)
        #expect(subset.chosenByCount > 0 && subset.addedByClosure > 0)
        // Kept teacher ids ascend, each token keeps its teacher text and type.
        let mapped = teacherIDs.filter { $0 >= 0 }
        #expect(mapped == mapped.sorted() && mapped.count == student.tokens.count - 3)
        for (id, teacherID) in teacherIDs.enumerated() where teacherID >= 0 {
            #expect(student.tokens[id] == Self.teacher.tokens[Int(teacherID)])
            #expect(student.tokenTypes[id] == Self.teacher.tokenTypes[Int(teacherID)])
        }
        // The merge that creates each kept token (the teacher's first for it) has both parts kept, and the
        // student keeps exactly the teacher's merges among kept tokens, in the teacher's order.
        var creator: [String: (String, String)] = [:]
        for merge in Self.teacher.merges {
            let (left, right) = try #require(VocabularySubset.split(merge))
            if creator[left + right] == nil { creator[left + right] = (left, right) }
        }
        for text in student.tokens {
            guard let (left, right) = creator[text] else { continue }
            #expect(kept.contains(left) && kept.contains(right), "\(text)")
        }
        let expectedMerges = Self.teacher.merges.filter { merge in
            let (left, right) = VocabularySubset.split(merge)!
            return kept.contains(left) && kept.contains(right) && kept.contains(left + right)
        }
        #expect(student.merges == expectedMerges)
        // Specials and every byte survive.
        for text in ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<file_sep>"] { #expect(kept.contains(text)) }
        for scalar in ByteLevelAlphabet.scalars { #expect(kept.contains(String(scalar))) }
        #expect(student.specials.endOfText.map { student.tokens[Int($0)] } == "<|endoftext|>")
        #expect(student.specials.fileSeparator.map { student.tokens[Int($0)] } == "<file_sep>")
    }

    @Test func tokensAreChosenByCountThenTeacherID() throws {
        let teacher = Self.teacher
        let byteCount = 4 + 256
        // Three multi-byte tokens whose parts are all bytes: counts 5, 9, 9 → the two 9s, lower id first.
        let pairs = teacher.merges.enumerated().filter { $0.element.count == 3 }.prefix(3)
            .map { teacher.tokens.firstIndex(of: $0.element.replacingOccurrences(of: " ", with: ""))! }
        var counts = [Int](repeating: 0, count: teacher.tokens.count)
        counts[pairs[0]] = 5; counts[pairs[1]] = 9; counts[pairs[2]] = 9
        let one = try VocabularySubset(teacher: teacher, counts: counts, vocabularySize: byteCount + 3 + 1)
        #expect(one.vocabulary.teacherTokenIDs!.filter { $0 >= 0 }.suffix(1) == [Int32(pairs[1])])
        #expect(one.chosenByCount == 1 && one.smallestChosenCount == 9)
        let two = try VocabularySubset(teacher: teacher, counts: counts, vocabularySize: byteCount + 3 + 2)
        #expect(two.vocabulary.teacherTokenIDs!.filter { $0 >= 0 }.suffix(2) == [Int32(pairs[1]), Int32(pairs[2])])
        #expect(two.coveredOccurrences == 18 && two.occurrences == 23 && two.distinctTokensSeen == 3)
        #expect(throws: VocabularySubsetError.vocabularyTooSmall(requested: byteCount + 2, needed: byteCount + 3)) {
            try VocabularySubset(teacher: teacher, counts: counts, vocabularySize: byteCount + 2)
        }
        #expect(throws: VocabularySubsetError.countMismatch(counts: 3, tokens: teacher.tokens.count)) {
            try VocabularySubset(teacher: teacher, counts: [1, 2, 3], vocabularySize: 1000)
        }
    }

    @Test func aTokenWithTwoMergesKeepsThePartsOfTheFirst() throws {
        // "abc" is made by "ab c" (rank 2) and by "a bc" (rank 3): the closure of "abc" is ab + c.
        var teacher = Fixtures.byteVocabulary(merges: ["ab", "bc"])
        teacher.tokens.append("abc")
        teacher.tokenTypes.append(TokenType.normal.rawValue)
        teacher.merges += ["ab c", "a bc"]
        var counts = [Int](repeating: 0, count: teacher.tokens.count)
        counts[teacher.tokens.count - 1] = 10
        let subset = try VocabularySubset(teacher: teacher, counts: counts, vocabularySize: 1000)
        #expect(subset.vocabulary.tokens.suffix(2) == ["ab", "abc"])
        #expect(subset.vocabulary.merges == ["a b", "ab c"])
        #expect(subset.addedByClosure == 1 && subset.chosenByCount == 1)
        // The teacher has FIM tokens: nothing is added and their ids carry over.
        #expect(subset.addedTokens.isEmpty && subset.vocabulary.specials == Fixtures.specialTokens)
        #expect(try subset.vocabulary.makeTokenizer().encode("abc") == [Int32(subset.vocabulary.tokens.count - 1)])
    }

    @Test(arguments: [330, 600]) func studentEncodesLikeTheTeacherWhereverTheSubsetReaches(size: Int) throws {
        let student = try Self.subset(size: size).vocabulary
        let teacherIDs = try #require(student.teacherTokenIDs)
        let teacherTokenizer = try Self.teacher.makeTokenizer(), studentTokenizer = try student.makeTokenizer()
        let kept = Set(student.tokens)
        var inside = 0, outside = 0, merged = 0
        for text in Self.probeTexts() {
            let teacherIDsOfText = teacherTokenizer.encode(text)
            let reference = try Self.reference(text, vocabulary: Self.teacher)
            // The slow reference agrees with the teacher, so its intermediate tokens are the teacher's.
            #expect(reference.tokens == teacherIDsOfText.map { Self.teacher.tokens[Int($0)] })
            let studentIDs = studentTokenizer.encode(text)
            #expect(studentTokenizer.decode(studentIDs) == Array(text.utf8), "\(text.debugDescription)")
            if reference.built.isSubset(of: kept) {
                #expect(studentIDs.map { teacherIDs[Int($0)] } == teacherIDsOfText, "\(text.debugDescription)")
                inside += 1
                merged += text.utf8.count - teacherIDsOfText.count
            } else {
                outside += 1
                #expect(studentIDs.contains { teacherIDs[Int($0)] < 0 } == false)
            }
        }
        // Both kinds of text occur, and the ones inside really use multi-byte tokens.
        #expect(inside >= 10 && outside >= 10 && merged > 100, "inside \(inside), outside \(outside), merged \(merged)")
    }

    @Test func overlappingMergesKeepTheTeachersOrder() throws {
        // In "abcd", "c d" outranks "b c", and "a b" outranks both: the teacher makes ab|cd, and so must
        // the student, though it drops "abc" and its merge from between them.
        let teacher = Fixtures.byteVocabulary(merges: ["ab", "cd", "bc", "abc"])
        #expect(teacher.merges == ["a b", "c d", "b c", "ab c"])
        var counts = [Int](repeating: 0, count: teacher.tokens.count)
        for text in ["ab", "cd", "bc"] { counts[teacher.tokens.firstIndex(of: text)!] = 5 }
        let student = try VocabularySubset(teacher: teacher, counts: counts, vocabularySize: 1000).vocabulary
        #expect(student.merges == ["a b", "c d", "b c"])
        let teacherIDs = try #require(student.teacherTokenIDs)
        let teacherTokenizer = try teacher.makeTokenizer(), studentTokenizer = try student.makeTokenizer()
        for text in ["abcd", "bcd", "xbcdab", "cdbc"] {
            #expect(studentTokenizer.encode(text).map { teacherIDs[Int($0)] } == teacherTokenizer.encode(text), "\(text)")
        }
        #expect(studentTokenizer.encode("abcd").map { student.tokens[Int($0)] } == ["ab", "cd"])
        // "abc" is one teacher token outside the subset: the student spells it in two.
        #expect(studentTokenizer.encode("abc").map { student.tokens[Int($0)] } == ["ab", "c"])
    }

    @Test func textOutsideTheSubsetStillRoundTrips() throws {
        let student = try Self.subset().vocabulary
        let teacherTokenizer = try Self.teacher.makeTokenizer(), studentTokenizer = try student.makeTokenizer()
        let kept = Set(student.tokens)
        for text in [BPETokenizerTrainerTests.sampleSources()[0], "struct Greeter → 🦓 \u{0}\u{7f}"] {
            let teacherTexts = teacherTokenizer.encode(text).map { Self.teacher.tokens[Int($0)] }
            #expect(teacherTexts.contains { !kept.contains($0) })
            let ids = studentTokenizer.encode(text)
            #expect(studentTokenizer.decode(ids) == Array(text.utf8))
            #expect(ids.count > teacherTexts.count)
        }
        var rng = SplitMix64(seed: 9)
        let bytes = (0..<5000).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        #expect(studentTokenizer.decode(studentTokenizer.encode(bytes: bytes)) == bytes)
    }

    @Test func fimTokensAreAddedAsControlsAtTheEnd() throws {
        let student = try Self.subset().vocabulary
        let n = student.tokens.count
        #expect(Array(student.tokens.suffix(3)) == ["<fim_prefix>", "<fim_middle>", "<fim_suffix>"])
        #expect(Array(student.tokenTypes.suffix(3)) == [3, 3, 3])
        #expect(Array(student.teacherTokenIDs!.suffix(3)) == [-1, -1, -1])
        #expect(student.specials.fimPrefix == Int32(n - 3) && student.specials.fimMiddle == Int32(n - 2)
                && student.specials.fimSuffix == Int32(n - 1))
        let tokenizer = try student.makeTokenizer()
        #expect(tokenizer.isControl(Int32(n - 3)) && tokenizer.specials.hasFIM)
        // Control text in input is not parsed as the token.
        #expect(!tokenizer.encode("<fim_prefix>").contains(Int32(n - 3)))
    }

    @Test func theMappingSurvivesAGGUFAndAModelFile() throws {
        let student = try Self.subset().vocabulary
        var writer = GGUFWriter()
        student.write(to: &writer)
        let read = try TokenizerMetadata(gguf: GGUFFile(bytes: writer.serialized()))
        #expect(read == student)
        // A model written over the vocabulary (what train and distill export) carries it too.
        let (model, _) = try Fixtures.randomModel(vocabulary: student)
        let fromModel = try TokenizerMetadata(gguf: model.file)
        #expect(fromModel.teacherTokenIDs == student.teacherTokenIDs)
        #expect(fromModel.teacherVocabularySize == Self.teacher.tokens.count)
    }

    @Test func sameInputsGiveTheSameBytes() throws {
        // Counts from a shard on 1 and 3 workers, subsets built twice: identical files.
        let path = Fixtures.temporaryPath("subset.shard")
        var shard = TokenShardWriter(vocabularySize: 10, endOfText: 0)
        for text in Self.probeTexts() { try shard.append(text: Array(text.utf8), tokens: [1, 2]) }
        try shard.write(to: path)
        defer { unlink(path) }
        let tokenizer = try Self.teacher.makeTokenizer()
        func file(threads: Int) throws -> [UInt8] {
            var counts = [Int](repeating: 0, count: Self.teacher.tokens.count)
            TokenFrequencies.count(try TokenShard(path: path), tokenizer: tokenizer, threads: threads, into: &counts)
            #expect(counts == (try Self.counts(Self.probeTexts())))
            var writer = GGUFWriter()
            try VocabularySubset(teacher: Self.teacher, counts: counts, vocabularySize: 500).vocabulary.write(to: &writer)
            return writer.serialized()
        }
        #expect(try file(threads: 1) == file(threads: 3))
    }

    @Test func agreementCountsTokensTheStudentReproduces() throws {
        // Teacher "ab|c|d" against student "a|b|c|d" (as teacher ids): c and d match, ab does not.
        var agreement = TokenizationAgreement()
        let lengths: [Int32: Int] = [0: 2, 1: 1, 2: 1, 3: 1, 4: 1]
        agreement.add(teacher: [0, 3, 4], student: [1, 2, 3, 4], teacherIDs: [0, 1, 2, 3, 4],
                      teacherLength: { lengths[$0]! }, studentLength: { lengths[$0]! })
        agreement.add(teacher: [0, 3], student: [0, 3], teacherIDs: [0, 1, 2, 3, 4],
                      teacherLength: { lengths[$0]! }, studentLength: { lengths[$0]! })
        #expect(agreement.documents == 2 && agreement.identicalDocuments == 1)
        #expect(agreement.teacherTokens == 5 && agreement.studentTokens == 6)
        #expect(agreement.matchedTokens == 4 && agreement.differingTokens == 1)
    }
}
