import Foundation
import Model
import TestFixtures
import Testing
@testable import Training

@Suite struct DistillCacheTests {
    static let key = TeacherCacheKey(vocabularySize: 10, batch: 1, sequence: 2, samples: 3, temperature: 2, seed: 5,
                                     teacherFingerprint: 0xABCD)

    static func le(_ value: UInt64, _ bytes: Int) -> [UInt8] { (0..<bytes).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }

    @Test func fileLayoutIsExactlyAsDocumented() throws {
        let step = CachedStep(inputHash: 0x1122_3344_5566_7788,
                              positions: [[SampledToken(token: 1, count: 2), SampledToken(token: 7, count: 1)],
                                          [SampledToken(token: 9, count: 3)]])
        let bytes = TeacherCache.encode(key: Self.key, steps: [70: step])
        var expected = Array("USTCACHE".utf8) + Self.le(1, 4)
        expected += Self.le(10, 4) + Self.le(1, 4) + Self.le(2, 4) + Self.le(3, 4) + Self.le(UInt64(Float(2).bitPattern), 4)
        expected += Self.le(5, 8) + Self.le(0xABCD, 8) + Self.le(64, 4) + Self.le(1, 4)
        expected += Self.le(70, 8) + Self.le(72, 8)                                  // entry table: step 70 at byte 56 + 16
        expected += Self.le(0x1122_3344_5566_7788, 8) + Self.le(3, 4)              // input hash, 3 pairs
        expected += Self.le(2, 2) + Self.le(1, 2)                                    // pairs per position
        expected += Self.le(1, 4) + Self.le(7, 4) + Self.le(9, 4)                    // tokens
        expected += Self.le(2, 2) + Self.le(1, 2) + Self.le(3, 2)                    // counts
        #expect(bytes == expected)
        #expect(try TeacherCache.decode(bytes, key: Self.key, path: "x") == [70: step])
    }

    static func targets(_ step: Int) -> [[SampledToken]] {
        [[SampledToken(token: Int32(step % 10), count: 3)], [SampledToken(token: 0, count: 1), SampledToken(token: Int32(1 + step % 9), count: 2)]]
    }

    @Test func stepsRoundTripThroughFullAndPartialFiles() throws {
        let directory = Fixtures.temporaryDirectory() + "/cache"
        let writer = try TeacherCache(directory: directory, key: Self.key)
        for step in 0..<67 { try writer.store(step: step, inputs: [Int32(step), 1], targets: Self.targets(step)) }
        // The first file is complete, so it is on disk without a flush; the second holds 3 steps after one.
        #expect(FileManager.default.fileExists(atPath: writer.path(chunk: 0)))
        #expect(!FileManager.default.fileExists(atPath: writer.path(chunk: 1)))
        try writer.flush()
        let reader = try TeacherCache(directory: directory, key: Self.key)
        for step in [66, 0, 63, 64] { #expect(try reader.lookup(step: step, inputs: [Int32(step), 1]) == Self.targets(step)) }
        #expect(try reader.lookup(step: 67, inputs: [67, 1]) == nil)
        #expect(reader.hits == 4)
        // A later run completes the partial file, keeping what it held.
        try reader.store(step: 67, inputs: [67, 1], targets: Self.targets(67))
        try reader.flush()
        let bytes = [UInt8](FileManager.default.contents(atPath: reader.path(chunk: 1))!)
        #expect(try TeacherCache.decode(bytes, key: Self.key, path: "x").keys.sorted() == [64, 65, 66, 67])
    }

    @Test func anotherRunsCacheOrDamageIsAClearError() throws {
        let directory = Fixtures.temporaryDirectory() + "/cache"
        let writer = try TeacherCache(directory: directory, key: Self.key)
        try writer.store(step: 2, inputs: [2, 1], targets: Self.targets(2))
        try writer.flush()
        var hotter = Self.key
        hotter.temperature = 1
        #expect { _ = try TeacherCache(directory: directory, key: hotter).lookup(step: 2, inputs: [2, 1]) } throws: {
            "\($0)".contains("temperature 2.0 but this run uses 1.0")
        }
        #expect { _ = try TeacherCache(directory: directory, key: Self.key).lookup(step: 2, inputs: [3, 1]) } throws: {
            "\($0)".contains("step 2 were computed from other input tokens")
        }
        let path = writer.path(chunk: 0)
        let bytes = [UInt8](FileManager.default.contents(atPath: path)!)
        try Data(bytes.dropLast(3)).write(to: URL(fileURLWithPath: path))
        #expect { _ = try TeacherCache(directory: directory, key: Self.key).lookup(step: 2, inputs: [2, 1]) } throws: {
            "\($0)".contains("bad teacher cache file at byte")
        }
    }

    @Test func teacherMustShareTheStudentsVocabulary() throws {
        let student = Fixtures.byteVocabulary(specials: false)
        try Teacher.checkVocabulary(teacher: student, student: student, teacherName: "t.gguf")
        var renamed = student
        renamed.tokens[40] = "zz"
        #expect { try Teacher.checkVocabulary(teacher: renamed, student: student, teacherName: "t.gguf") } throws: {
            "\($0)".contains("token 40 is \"zz\" for the teacher")
        }
        var longer = student
        longer.tokens.append("extra")
        #expect { try Teacher.checkVocabulary(teacher: longer, student: student, teacherName: "t.gguf") } throws: {
            "\($0)".contains("the teacher has 257 tokens, the student 256")
        }
    }

    /// A tiny random teacher GGUF with the byte vocabulary.
    static func randomTeacher() throws -> String {
        let config = LlamaConfig(vocabularySize: 256, dim: 32, hiddenDim: 48, layers: 1, heads: 2, kvHeads: 2, contextLength: 16)
        let path = Fixtures.temporaryDirectory() + "/teacher.gguf"
        try LlamaFileWriter.write(config: config, tokenizer: Fixtures.byteVocabulary(specials: false), tiedOutput: false, matrixType: .q8_0,
                                  name: "t", tensor: RandomLlamaWeights(config: config, seed: 3, scale: 0.5).tensor, to: path)
        return path
    }

    @Test func aSecondRunReadsTheSameTargetsFromTheCacheWithoutTheTeacher() throws {
        let teacher = try Teacher(path: Self.randomTeacher(), studentVocabulary: Fixtures.byteVocabulary(specials: false), sequence: 8, threads: 2)
        let record = DistillationRecord(alpha: 0.5, temperature: 2, teacherFile: teacher.fileName, teacherBytes: teacher.fileBytes,
                                        teacherSamples: 8)
        let directory = Fixtures.temporaryDirectory() + "/cache"
        let inputs: [[Int32]] = (0..<3).map { (s: Int) -> [Int32] in (0..<16).map { (i: Int) -> Int32 in Int32((i * 37 + s * 11) % 256) } }
        func collect(_ provider: TeacherTargetProvider) throws -> [[[TeacherProbability]]] {
            try (0..<3).map { step in
                guard case .sparse(let rows) = try provider.targets(step: step, inputs: inputs[step], batch: 2, sequence: 8) else { return [] }
                return rows
            }
        }
        let first = try TeacherTargetProvider(teacher: teacher, record: record, seed: 9, batch: 2, sequence: 8, cacheDirectory: directory)
        let live = try collect(first)
        try first.flush()
        let second = try TeacherTargetProvider(teacher: teacher, record: record, seed: 9, batch: 2, sequence: 8, cacheDirectory: directory)
        #expect(try collect(second) == live)
        #expect(first.teacherRuns == 3 && second.teacherRuns == 0 && second.cacheHits == 3)
        #expect(live.allSatisfy { $0.count == 16 && $0.allSatisfy { abs($0.reduce(0) { $0 + $1.probability } - 1) < 1e-6 } })
        // Another seed is another sample: the cache refuses it rather than serving the first run's draws.
        let reseeded = try TeacherTargetProvider(teacher: teacher, record: record, seed: 10, batch: 2, sequence: 8, cacheDirectory: directory)
        #expect { _ = try collect(reseeded) } throws: { "\($0)".contains("seed") }
    }

    @Test func checkpointsRecordTheDistillationAndOldOnesStillLoad() throws {
        let record = DistillationRecord(alpha: 0.7, temperature: 3, teacherFile: "t.gguf", teacherBytes: 1234, teacherSamples: nil)
        let options = TrainingOptions(batch: 2, sequence: 8, schedule: LearningRateSchedule(peak: 1e-3, floor: 1e-4, warmupSteps: 1, totalSteps: 4),
                                      seed: 3, distillation: record)
        let config = LlamaConfig(vocabularySize: 32, dim: 16, hiddenDim: 32, layers: 1, heads: 2, contextLength: 8)
        let data = try TokenWindowSampler(tokens: (0..<100).map { Int32($0 % 32) }, seed: 1, sequence: 8)
        let trainer = try Trainer(config: config, tiedOutput: false, data: data, options: options, threads: 1)
        let path = Fixtures.temporaryDirectory() + "/" + Checkpoint.fileName
        try trainer.saveCheckpoint(to: path)
        #expect(try Checkpoint.read(path: path).state.options.distillation == record)
        let plain = try JSONEncoder().encode(TrainingOptions(batch: 2, sequence: 8, schedule: options.schedule))
        #expect(!String(decoding: plain, as: UTF8.self).contains("distillation"))
        #expect(try JSONDecoder().decode(TrainingOptions.self, from: plain).distillation == nil)
    }
}
