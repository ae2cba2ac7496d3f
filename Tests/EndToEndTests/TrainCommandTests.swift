import Foundation
import Model
import TestFixtures
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A tiny corpus and helpers for running `understudy train` / `distill` as a user would.
enum TrainFixtures {
    /// A tokenizer GGUF and one training shard made by `understudy corpus build --tokenizer`.
    static func corpus() throws -> (tokenizer: String, shard: String) {
        let tokenizer = try CommandLineTests.tinyModel(type: .f32)
        let sources = Fixtures.temporaryPath("sources")
        try FileManager.default.createDirectory(atPath: sources, withIntermediateDirectories: true)
        for f in 0..<6 {
            var text = ""
            for i in 0..<40 { text += "func f\(f)_\(i)(x: Int) -> Int {\n    return x * \(i) + \(f)\n}\n\n" }
            try text.write(toFile: sources + "/file\(f).swift", atomically: true, encoding: .utf8)
        }
        let corpus = Fixtures.temporaryPath("corpus")
        let built = try CommandLineTests.run(["corpus", "build", "--dir", sources, "-o", corpus, "--tokenizer", tokenizer])
        guard built.status == 0 else { throw FixtureError("corpus build failed: \(built.stderr)") }
        let shards = try FileManager.default.contentsOfDirectory(atPath: corpus + "/shards").filter { $0.hasPrefix("train-") }
        guard let shard = shards.first else { throw FixtureError("no training shard in \(corpus)/shards") }
        return (tokenizer, corpus + "/shards/" + shard)
    }

    /// The options of a tiny student run.
    static func trainArguments(tokenizer: String, shard: String, out: String, steps: Int, checkpointEvery: Int = 5) -> [String] {
        ["--tokenizer", tokenizer, "--data", shard, "--out", out, "--dim", "32", "--hidden", "64", "--layers", "2", "--heads", "4",
         "--batch", "2", "--context", "32", "--steps", "\(steps)", "--warmup", "5", "--lr", "3e-3", "--threads", "2",
         "--checkpoint-every", "\(checkpointEvery)", "--log-every", "1000"]
    }

    /// What a checkpoint's header says, read by the documented layout (`USCKPT01`, UInt32 JSON length, JSON,
    /// then three Float32 arrays); throws unless the file is whole.
    static func checkpoint(_ path: String) throws -> (step: Int, json: [String: Any]) {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        guard bytes.count >= 12, Array(bytes[0..<8]) == Array("USCKPT01".utf8) else { throw FixtureError("\(path): no checkpoint magic") }
        let length = (0..<4).reduce(0) { $0 | Int(bytes[8 + $1]) << (8 * $1) }
        guard let json = try JSONSerialization.jsonObject(with: Data(bytes[12..<(12 + length)])) as? [String: Any],
              let step = json["step"] as? Int, let count = json["parameterCount"] as? Int else {
            throw FixtureError("\(path): unreadable checkpoint JSON")
        }
        guard bytes.count == 12 + length + 3 * 4 * count else {
            throw FixtureError("\(path): \(bytes.count) bytes, expected \(12 + length + 12 * count)")
        }
        return (step, json)
    }

    /// The steps and losses of a loss.csv; throws on any malformed line.
    static func lossLog(_ path: String) throws -> [(step: Int, loss: Double)] {
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        guard lines.first == "step,loss,lr,grad_norm,tokens_per_s,eval_loss" else { throw FixtureError("\(path): bad header") }
        return try lines.dropFirst().map { line in
            let f = line.split(separator: ",", omittingEmptySubsequences: false)
            guard f.count == 6, let step = Int(f[0]), let loss = Double(f[1]), loss.isFinite, Double(f[2]) != nil,
                  Double(f[3]) != nil, Double(f[4]) != nil else { throw FixtureError("\(path): bad row '\(line)'") }
            return (step, loss)
        }
    }

    /// Starts the binary with stdout and stderr going to files (so a long run never blocks on a pipe).
    static func start(_ arguments: [String]) throws -> (process: Process, stderr: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CommandLineTests.binary)
        process.arguments = arguments
        let stderr = Fixtures.temporaryPath("stderr.txt")
        FileManager.default.createFile(atPath: stderr, contents: nil)
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: stderr))
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        return (process, stderr)
    }

    /// Waits until `condition` holds, checking every 10 ms, for at most `seconds`.
    static func wait(seconds: Double, until condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            usleep(10_000)
        }
        return condition()
    }

    /// The step of the checkpoint at `path`, or nil while there is none.
    static func checkpointStep(_ path: String) -> Int? { try? checkpoint(path).step }
}

struct FixtureError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

@Suite(.serialized) struct TrainCommandTests {
    @Test func sigkillMidRunLeavesWholeFilesAndResumeFinishesTheRun() throws {
        let (tokenizer, shard) = try TrainFixtures.corpus()
        let out = Fixtures.temporaryPath("train-kill")
        let steps = 80
        let arguments = ["train"] + TrainFixtures.trainArguments(tokenizer: tokenizer, shard: shard, out: out, steps: steps)
        let (process, _) = try TrainFixtures.start(arguments)
        let checkpoint = out + "/checkpoint.bin"
        let reached = TrainFixtures.wait(seconds: 120) { (TrainFixtures.checkpointStep(checkpoint) ?? 0) >= 10 || !process.isRunning }
        let wasRunning = process.isRunning
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        #expect(reached && wasRunning, "the run should still be going after its second checkpoint")
        #expect(process.terminationReason == .uncaughtSignal)

        // Whatever moment the kill hit, the published files are whole.
        let saved = try TrainFixtures.checkpoint(checkpoint)
        #expect(saved.step >= 10 && saved.step < steps && saved.step % 5 == 0)
        let logged = try TrainFixtures.lossLog(out + "/loss.csv")
        #expect(logged.map(\.step) == Array(1...logged.count))
        #expect(logged.count >= saved.step)
        #expect(!FileManager.default.fileExists(atPath: out + "/model.gguf"))

        let resumed = try CommandLineTests.run(arguments + ["--resume"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stderr.contains("resuming at step \(saved.step) of \(steps)"), "\(resumed.stderr)")
        #expect(try TrainFixtures.checkpoint(checkpoint).step == steps)
        let final = try TrainFixtures.lossLog(out + "/loss.csv")
        #expect(final.map(\.step) == Array(1...steps), "every step logged once")
        #expect(Array(final.prefix(saved.step)).map(\.loss) == Array(logged.prefix(saved.step)).map(\.loss))
        #expect(try CommandLineTests.run(["info", out + "/model.gguf"]).status == 0)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: out).filter { $0.contains(".tmp-") }
        #expect(leftovers.isEmpty, "\(leftovers)")
    }

    /// `export` writes a checkpoint's model: at the run's last step, the tensors of the run's own model.gguf.
    @Test func exportWritesTheCheckpointsModel() throws {
        let (tokenizer, shard) = try TrainFixtures.corpus()
        let out = Fixtures.temporaryPath("export-run")
        let trained = try CommandLineTests.run(["train"] + TrainFixtures.trainArguments(tokenizer: tokenizer, shard: shard, out: out, steps: 5))
        #expect(trained.status == 0, "\(trained.stderr)")
        let exported = Fixtures.temporaryPath("exported.gguf")
        let export = try CommandLineTests.run(["export", out + "/checkpoint.bin", "--tokenizer", tokenizer, "-o", exported])
        #expect(export.status == 0, "\(export.stderr)")
        let final = try GGUFFile(path: out + "/model.gguf"), copy = try GGUFFile(path: exported)
        #expect(final.tensors.map(\.name) == copy.tensors.map(\.name))
        for (a, b) in zip(final.tensors, copy.tensors) {
            #expect(Array(final.data(for: a)) == Array(copy.data(for: b)), "\(a.name)")
        }
        // Another vocabulary is a clear error, and nothing is written.
        let other = Fixtures.temporaryPath("other-vocabulary.gguf")
        let vocabulary = Fixtures.byteVocabulary(merges: ["ab"])
        let config = LlamaConfig(vocabularySize: vocabulary.tokens.count, dim: 64, hiddenDim: 96, layers: 2, heads: 4, kvHeads: 2, contextLength: 64)
        try LlamaFileWriter.write(config: config, tokenizer: vocabulary, tiedOutput: false, matrixType: .f32, name: "other",
                                  tensor: RandomLlamaWeights(config: config, seed: 1, scale: 0.1).tensor, to: other)
        let refused = try CommandLineTests.run(["export", out + "/checkpoint.bin", "--tokenizer", other, "-o", exported + "2"])
        #expect(refused.status != 0 && refused.stderr.contains("vocabulary size"), "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: exported + "2"))
    }

    @Test func sigintSavesACheckpointAndExitsZero() throws {
        let (tokenizer, shard) = try TrainFixtures.corpus()
        let out = Fixtures.temporaryPath("train-int")
        let steps = 400
        let (process, stderr) = try TrainFixtures.start(["train"] + TrainFixtures.trainArguments(tokenizer: tokenizer, shard: shard,
                                                                                                 out: out, steps: steps))
        let checkpoint = out + "/checkpoint.bin"
        _ = TrainFixtures.wait(seconds: 120) { TrainFixtures.checkpointStep(checkpoint) != nil || !process.isRunning }
        #expect(process.isRunning)
        kill(process.processIdentifier, SIGINT)
        process.waitUntilExit()
        let messages = try String(contentsOfFile: stderr, encoding: .utf8)
        #expect(process.terminationReason == .exit && process.terminationStatus == 0, "\(messages)")
        let saved = try TrainFixtures.checkpoint(checkpoint)
        #expect(saved.step > 0 && saved.step < steps)
        #expect(messages.contains("interrupted: saved step \(saved.step) to \(checkpoint); continue with --resume"), "\(messages)")
        #expect(try TrainFixtures.lossLog(out + "/loss.csv").map(\.step) == Array(1...saved.step))
        #expect(!FileManager.default.fileExists(atPath: out + "/model.gguf"))
    }
}
