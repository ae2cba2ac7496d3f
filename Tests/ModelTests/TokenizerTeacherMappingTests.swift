import Foundation
import Kernels
import TestFixtures
import Testing
@testable import Model

/// `understudy.tokenizer.teacher_ids`: a student vocabulary's map to its teacher's ids, in GGUF.
struct TokenizerTeacherMappingTests {
    static let idsKey = TokenizerMetadata.teacherTokenIDsKey
    static let sizeKey = TokenizerMetadata.teacherVocabularySizeKey

    /// A byte vocabulary mapped as if cut from a teacher of 1000 tokens; the last token is the teacher's
    /// missing one (-1).
    static func mapped() -> TokenizerMetadata {
        var vocabulary = Fixtures.byteVocabulary(merges: Fixtures.codeMerges)
        let n = vocabulary.tokens.count
        vocabulary.teacherTokenIDs = (0..<n - 1).map { Int32(3 * $0) } + [-1]
        vocabulary.teacherVocabularySize = 1000
        return vocabulary
    }

    /// The GGUF of `vocabulary` with the mapping keys replaced (nil: removed).
    static func file(ids: GGUFValue?, size: GGUFValue?) throws -> GGUFFile {
        var writer = GGUFWriter()
        Fixtures.byteVocabulary(merges: Fixtures.codeMerges).write(to: &writer)
        if let ids { writer.set(idsKey, ids) }
        if let size { writer.set(sizeKey, size) }
        return try GGUFFile(bytes: writer.serialized())
    }

    @Test func mappingRoundTripsAndIsAbsentByDefault() throws {
        let vocabulary = Self.mapped()
        var writer = GGUFWriter()
        vocabulary.write(to: &writer)
        let file = try GGUFFile(bytes: writer.serialized())
        #expect(file[Self.idsKey]?.ints?.count == vocabulary.tokens.count)
        #expect(file[Self.idsKey].map { if case .array(let a) = $0 { a.elementType == .int32 } else { false } } == true)
        #expect(file[Self.sizeKey] == .uint32(1000))
        let read = try TokenizerMetadata(gguf: file)
        #expect(read == vocabulary)
        #expect(read.teacherTokenIDs?.last == -1 && read.teacherTokenIDs?[2] == 6)

        // A vocabulary without a teacher writes neither key and reads back without one.
        let plain = try TokenizerMetadata(gguf: Self.file(ids: nil, size: nil))
        #expect(plain.teacherTokenIDs == nil && plain.teacherVocabularySize == nil)
    }

    @Test func aModelFileCarriesTheMapping() throws {
        let vocabulary = Self.mapped()
        let (model, _) = try Fixtures.randomModel(vocabulary: vocabulary)
        let read = try TokenizerMetadata(gguf: model.file)
        #expect(read.teacherTokenIDs == vocabulary.teacherTokenIDs && read.teacherVocabularySize == 1000)
    }

    @Test func corruptMappingsAreClearErrors() throws {
        let n = Fixtures.byteVocabulary(merges: Fixtures.codeMerges).tokens.count
        let good = (0..<n).map { Int32($0) }
        let cases: [(ids: GGUFValue?, size: GGUFValue?, key: String, says: String)] = [
            (.int32Array(Array(good.dropLast())), .uint32(1000), Self.idsKey, "\(n - 1) teacher ids for \(n) tokens"),
            (.int32Array(good + [7]), .uint32(1000), Self.idsKey, "\(n + 1) teacher ids for \(n) tokens"),
            (.int32Array(good.dropLast() + [1000]), .uint32(1000), Self.idsKey, "token \(n - 1) maps to 1000, outside -1 and 0..<1000"),
            (.int32Array([-2] + good.dropFirst()), .uint32(1000), Self.idsKey, "token 0 maps to -2"),
            (.int32Array(good.dropLast() + [5]), .uint32(1000), Self.idsKey, "tokens 5 and \(n - 1) both map to teacher id 5"),
            (.int32Array(good), .uint32(0), Self.sizeKey, "not a vocabulary size"),
            (.int32Array(good), .string("1000"), Self.sizeKey, "not a vocabulary size"),
            (.stringArray(good.map { "\($0)" }), .uint32(1000), Self.idsKey, "not an array of integers"),
            (.int32Array(good), nil, Self.idsKey, "present without \(Self.sizeKey)"),
            (nil, .uint32(1000), Self.sizeKey, "present without \(Self.idsKey)"),
        ]
        for (ids, size, key, says) in cases {
            let file = try Self.file(ids: ids, size: size)
            do {
                _ = try TokenizerMetadata(gguf: file)
                Issue.record("accepted a corrupt mapping (\(says))")
            } catch {
                guard case .badMetadata(let badKey, let why) = error else {
                    Issue.record("\(error) for \(says)")
                    continue
                }
                #expect(badKey == key && why.contains(says), "\(error)")
                #expect(error.description.contains(key))
            }
        }
        // A model file with such a mapping fails to open the same way, never a crash.
        let vocabulary = Fixtures.byteVocabulary(merges: Fixtures.codeMerges)
        let config = Fixtures.config(vocabularySize: n)
        let path = Fixtures.temporaryPath("bad-mapping.gguf")
        defer { unlink(path) }
        try LlamaFileWriter.write(config: config, tokenizer: vocabulary, tiedOutput: false, matrixType: .f32, name: "bad",
                                  metadata: [(Self.idsKey, .int32Array(good.dropLast() + [5])), (Self.sizeKey, .uint32(1000))],
                                  tensor: RandomLlamaWeights(config: config, seed: 1).tensor, to: path)
        #expect(throws: ModelError.badMetadata(Self.idsKey, "tokens 5 and \(n - 1) both map to teacher id 5")) {
            try LlamaModel(path: path)
        }
    }
}
