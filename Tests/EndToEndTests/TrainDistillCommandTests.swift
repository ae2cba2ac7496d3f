import Foundation
import Model
import TestFixtures
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `understudy distill` run as a user would: teacher checks, the teacher cache, and the checkpoint record.
@Suite(.serialized) struct TrainDistillCommandTests {
    @Test func aSecondRunReadsTheTeacherCacheAndTrainsIdentically() throws {
        let (tokenizer, shard) = try TrainFixtures.corpus()
        // A quantized teacher with the same vocabulary (tinyModel always writes the same byte vocabulary).
        let teacher = try CommandLineTests.tinyModel(type: .q8_0)
        let cache = Fixtures.temporaryPath("teacher-cache")
        func distill(_ out: String) throws -> CommandLineTests.Outcome {
            try CommandLineTests.run(["distill", "--teacher", teacher, "--alpha", "0.5", "--temperature", "2", "--teacher-cache", cache,
                                      "--teacher-samples", "8"]
                                     + TrainFixtures.trainArguments(tokenizer: tokenizer, shard: shard, out: out, steps: 12, checkpointEvery: 4))
        }
        let first = Fixtures.temporaryPath("distill-1"), second = Fixtures.temporaryPath("distill-2")
        let a = try distill(first)
        #expect(a.status == 0, "\(a.stderr)")
        #expect(a.stderr.contains("teacher: ran for 12 steps"), "\(a.stderr)")
        #expect(FileManager.default.fileExists(atPath: cache + "/teacher-00000000.cache"))
        #expect(FileManager.default.fileExists(atPath: first + "/model.gguf"))
        #expect(FileManager.default.fileExists(atPath: first + "/loss.svg"))

        let b = try distill(second)
        #expect(b.status == 0, "\(b.stderr)")
        #expect(b.stderr.contains("teacher: ran for 0 steps") && b.stderr.contains("the cache answered 12"), "\(b.stderr)")
        // Cached targets are the very samples the first run drew, so the two runs' losses agree exactly.
        let lossesA = try TrainFixtures.lossLog(first + "/loss.csv").map(\.loss)
        let lossesB = try TrainFixtures.lossLog(second + "/loss.csv").map(\.loss)
        #expect(lossesA.count == 12 && lossesA == lossesB)

        let saved = try TrainFixtures.checkpoint(first + "/checkpoint.bin")
        let record = (saved.json["options"] as? [String: Any])?["distillation"] as? [String: Any]
        #expect(record?["teacherFile"] as? String == (teacher as NSString).lastPathComponent)
        #expect(record?["teacherBytes"] as? Int == (try FileManager.default.attributesOfItem(atPath: teacher)[.size] as? Int))
        #expect(record?["alpha"] as? Double == 0.5 && record?["temperature"] as? Double == 2 && record?["teacherSamples"] as? Int == 8)

        // A distilled run continues only as one.
        let wrong = try CommandLineTests.run(["train", "--resume"] + TrainFixtures.trainArguments(tokenizer: tokenizer, shard: shard,
                                                                                                   out: first, steps: 20))
        #expect(wrong.status != 0 && wrong.stderr.contains("is a distillation run"), "\(wrong.stderr)")
    }

    /// A teacher without FIM: `teacher-pass` reads the shard in file order (resumably), and `distill
    /// --teacher-pass` trains on the documents it covers, with the teacher's targets where the text matches.
    @Test func distillsFromAFileOrderTeacherPass() throws {
        let (tokenizer, shard) = try TrainFixtures.corpus()
        let teacher = try CommandLineTests.tinyModel(type: .q8_0)
        let pass = Fixtures.temporaryPath("teacher-pass")
        let passArguments = ["teacher-pass", "--teacher", teacher, "--shard", shard, "--out", pass, "--documents-per-part", "2",
                             "--window", "128", "--samples", "8", "--threads", "2"]
        let first = try CommandLineTests.run(passArguments + ["--parts", "1"])
        #expect(first.status == 0 && first.stderr.contains("1 to run"), "\(first.stderr)")
        let second = try CommandLineTests.run(passArguments + ["--parts", "2"])
        #expect(second.status == 0 && second.stderr.contains("1 of the first 2 done, 1 to run"), "\(second.stderr)")
        let other = try CommandLineTests.run(passArguments + ["--parts", "2", "--samples", "4"])
        #expect(other.status != 0 && other.stderr.contains("sample count"), "\(other.stderr)")

        func distillArguments(_ out: String, steps: Int) -> [String] {
            ["distill", "--teacher", teacher, "--teacher-pass", pass, "--alpha", "0.5"]
                + TrainFixtures.trainArguments(tokenizer: tokenizer, shard: shard, out: out, steps: steps)
        }
        func distillationRecord(_ out: String) throws -> [String: Any]? {
            (try TrainFixtures.checkpoint(out + "/checkpoint.bin").json["options"] as? [String: Any])?["distillation"] as? [String: Any]
        }
        let out = Fixtures.temporaryPath("distill-pass")
        let run = try CommandLineTests.run(distillArguments(out, steps: 6))
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains("of 4 documents") && run.stderr.contains("temperature 1.0 (the passes')"), "\(run.stderr)")
        #expect(run.stderr.contains("teacher targets at"), "\(run.stderr)")
        #expect(FileManager.default.fileExists(atPath: out + "/model.gguf"))
        let record = try distillationRecord(out)
        #expect(record?["teacherSamples"] as? Int == 8 && record?["temperature"] as? Double == 1)

        // --no-teacher-pass-fim is recorded, and a resume that leaves it out is refused rather than
        // silently training the rest of the run the other way.
        let plain = Fixtures.temporaryPath("distill-pass-plain")
        let plainRun = try CommandLineTests.run(distillArguments(plain, steps: 2) + ["--no-teacher-pass-fim"])
        #expect(plainRun.status == 0, "\(plainRun.stderr)")
        let plainRecord = try distillationRecord(plain)
        #expect(plainRecord?["teacherTargetsInFIM"] as? Bool == false && record?["teacherTargetsInFIM"] as? Bool == true)
        let forgotten = try CommandLineTests.run(distillArguments(plain, steps: 4) + ["--resume"])
        #expect(forgotten.status != 0 && forgotten.stderr.contains("--no-teacher-pass-fim; these passes"), "\(forgotten.stderr)")
        let resumed = try CommandLineTests.run(distillArguments(plain, steps: 4) + ["--resume", "--no-teacher-pass-fim"])
        #expect(resumed.status == 0 && resumed.stderr.contains("resuming at step 2 of 4"), "\(resumed.stderr)")

        // --no-teacher-pass-fim-middle likewise: recorded, and a resume without it refused.
        let prefix = Fixtures.temporaryPath("distill-pass-prefix")
        let prefixRun = try CommandLineTests.run(distillArguments(prefix, steps: 2) + ["--no-teacher-pass-fim-middle"])
        #expect(prefixRun.status == 0, "\(prefixRun.stderr)")
        let prefixRecord = try distillationRecord(prefix)
        #expect(prefixRecord?["teacherTargetsInFIM"] as? Bool == true && prefixRecord?["teacherTargetsInMiddle"] as? Bool == false)
        #expect(plainRecord?["teacherTargetsInMiddle"] as? Bool == false && record?["teacherTargetsInMiddle"] as? Bool == true)
        let prefixForgotten = try CommandLineTests.run(distillArguments(prefix, steps: 4) + ["--resume"])
        #expect(prefixForgotten.status != 0 && prefixForgotten.stderr.contains("--no-teacher-pass-fim-middle; these passes"),
                "\(prefixForgotten.stderr)")
        // Without --teacher-pass these flags mean nothing: a clear error, not silence.
        for flag in ["--no-teacher-pass-fim-middle", "--all-documents"] {
            let online = try CommandLineTests.run(["distill", "--teacher", teacher, flag]
                                                  + TrainFixtures.trainArguments(tokenizer: tokenizer, shard: shard, out: prefix + "-online", steps: 2))
            #expect(online.status != 0 && online.stderr.contains("choose among the targets and documents of --teacher-pass"), "\(online.stderr)")
        }

        // --all-documents trains on the documents the pass does not cover too; at alpha 0 it is `train` on the
        // same data, window for window: the same losses.
        let everything = Fixtures.temporaryPath("distill-pass-all"), control = Fixtures.temporaryPath("train-control")
        let allRun = try CommandLineTests.run(["distill", "--teacher", teacher, "--teacher-pass", pass, "--alpha", "0", "--all-documents"]
                                              + TrainFixtures.trainArguments(tokenizer: tokenizer, shard: shard, out: everything, steps: 3))
        #expect(allRun.status == 0 && allRun.stderr.contains("training on every document"), "\(allRun.stderr)")
        let allRecord = try distillationRecord(everything)
        #expect(allRecord?["allDocuments"] as? Bool == true && record?["allDocuments"] as? Bool == false)
        let trainRun = try CommandLineTests.run(["train"] + TrainFixtures.trainArguments(tokenizer: tokenizer, shard: shard, out: control, steps: 3))
        #expect(trainRun.status == 0, "\(trainRun.stderr)")
        let distilled = try TrainFixtures.lossLog(everything + "/loss.csv").map(\.loss)
        let plainLosses = try TrainFixtures.lossLog(control + "/loss.csv").map(\.loss)
        #expect(distilled.count == 3 && zip(distilled, plainLosses).allSatisfy { abs($0 - $1) <= 1e-5 * max(1, abs($1)) },
                "\(distilled) vs \(plainLosses)")

        // A pass over other text is refused by name.
        let stranger = try CommandLineTests.run(["distill", "--teacher", teacher, "--teacher-pass", pass, "--teacher-pass", out]
                                                + TrainFixtures.trainArguments(tokenizer: tokenizer, shard: shard, out: out + "-2", steps: 2))
        #expect(stranger.status != 0 && stranger.stderr.contains("holds no part computed over the text"), "\(stranger.stderr)")
    }

    @Test func anInterruptedDistillationResumesOntoTheUninterruptedLossCurve() throws {
        let (tokenizer, shard) = try TrainFixtures.corpus()
        let teacher = try CommandLineTests.tinyModel(type: .q8_0)
        func arguments(_ out: String) -> [String] {
            ["distill", "--teacher", teacher, "--alpha", "0.7", "--temperature", "1.5"]
                + TrainFixtures.trainArguments(tokenizer: tokenizer, shard: shard, out: out, steps: 40)
        }
        let straight = Fixtures.temporaryPath("distill-straight")
        let reference = try CommandLineTests.run(arguments(straight))
        #expect(reference.status == 0, "\(reference.stderr)")

        let out = Fixtures.temporaryPath("distill-interrupted")
        let (process, stderr) = try TrainFixtures.start(arguments(out))
        _ = TrainFixtures.wait(seconds: 120) { TrainFixtures.checkpointStep(out + "/checkpoint.bin") != nil || !process.isRunning }
        let wasRunning = process.isRunning
        kill(process.processIdentifier, SIGINT)
        process.waitUntilExit()
        let messages = try String(contentsOfFile: stderr, encoding: .utf8)
        #expect(wasRunning && process.terminationStatus == 0, "\(messages)")
        let saved = try TrainFixtures.checkpoint(out + "/checkpoint.bin").step
        #expect(saved > 0 && saved < 40)
        let resumed = try CommandLineTests.run(arguments(out) + ["--resume"])
        #expect(resumed.status == 0 && resumed.stderr.contains("resuming at step \(saved) of 40"), "\(resumed.stderr)")
        // Batches and teacher targets are functions of the step, so the resumed curve is the uninterrupted one.
        #expect(try TrainFixtures.lossLog(out + "/loss.csv").map(\.loss) == TrainFixtures.lossLog(straight + "/loss.csv").map(\.loss))
    }

    @Test func aTeacherWithAnotherVocabularyIsRefused() throws {
        let (tokenizer, shard) = try TrainFixtures.corpus()
        var vocabulary = Fixtures.byteVocabulary()
        vocabulary.tokens[4] = "<pad>"
        let config = LlamaConfig(vocabularySize: vocabulary.tokens.count, dim: 32, hiddenDim: 64, layers: 1, heads: 4, contextLength: 64)
        let teacher = Fixtures.temporaryPath("other-teacher.gguf")
        try LlamaFileWriter.write(config: config, tokenizer: vocabulary, tiedOutput: false, matrixType: .f32, name: "other",
                                  tensor: RandomLlamaWeights(config: config, seed: 1, scale: 0.1).tensor, to: teacher)
        let result = try CommandLineTests.run(["distill", "--teacher", teacher]
            + TrainFixtures.trainArguments(tokenizer: tokenizer, shard: shard, out: Fixtures.temporaryPath("distill-bad"), steps: 3))
        #expect(result.exitedNormally && result.status != 0)
        #expect(result.stderr.contains("does not share the student's tokenizer: token 4 is \"<pad>\" for the teacher, \"<fim_pad>\" for the student"),
                "\(result.stderr)")
    }
}
