import Foundation
import Kernels
import Model
import TestFixtures
import Testing

/// Runs the built `understudy` binary the way a user does and checks what it prints and how it exits.
struct CommandLineTests {
    struct Outcome {
        var status: Int32
        var stdout: String
        var stderr: String
        /// Exited by itself (not killed by a signal such as a crash).
        var exitedNormally: Bool
    }

    /// The executable sits beside the test bundle in the build directory.
    static let binary: String = {
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("understudy").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return ".build/debug/understudy"
    }()

    /// Runs `executable` (the built binary unless given) with `arguments`; `environment` adds to or
    /// replaces variables of this process's environment.
    static func run(_ arguments: [String], stdin: String = "", executable: String = binary,
                    environment: [String: String] = [:]) throws -> Outcome {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        let out = Pipe(), err = Pipe(), input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        try process.run()
        input.fileHandleForWriting.write(Data(stdin.utf8))
        try input.fileHandleForWriting.close()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Outcome(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                       stderr: String(decoding: stderr, as: UTF8.self),
                       exitedNormally: process.terminationReason == .exit)
    }

    /// A tiny random model with a byte-level vocabulary and FIM tokens, written with our own GGUF writer.
    static func tinyModel(type: GGMLType = .q8_0) throws -> String {
        let vocabulary = Fixtures.byteVocabulary()
        let config = LlamaConfig(vocabularySize: vocabulary.tokens.count, dim: 64, hiddenDim: 96, layers: 2, heads: 4,
                                 kvHeads: 2, contextLength: 256)
        let path = Fixtures.temporaryPath("tiny-\(type).gguf")
        try LlamaFileWriter.write(config: config, tokenizer: vocabulary, tiedOutput: false, matrixType: type,
                                  name: "tiny", tensor: RandomLlamaWeights(config: config, seed: 5, scale: 0.1).tensor, to: path)
        return path
    }

    /// `tokenizer train` makes the output's directory (and writes tokenizer.json beside the GGUF).
    @Test func tokenizerTrainCreatesTheOutputDirectory() throws {
        let data = Fixtures.temporaryPath("tokenizer-data")
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        for (name, text) in [("a.swift", "let a = 1\nfunc f() { return a }\n"), ("b.py", "def g(x):\n    return x + 1\n")] {
            FileManager.default.createFile(atPath: data + "/" + name, contents: Data(text.utf8))
        }
        let output = Fixtures.temporaryPath("tokenizer-out") + "/nested/tok.gguf"
        let result = try Self.run(["tokenizer", "train", "--data", data, "--vocab-size", "300", "--output", output])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(FileManager.default.fileExists(atPath: output))
        #expect(FileManager.default.fileExists(atPath: (output as NSString).deletingLastPathComponent + "/tokenizer.json"))
        let encoded = try Self.run(["tokenizer", "encode", "--model", output], stdin: "return a\n")
        #expect(encoded.status == 0 && !encoded.stdout.isEmpty)
    }

    /// `tokenizer subset` cuts a student from a teacher without FIM tokens, counting a shard's text
    /// (the shard made with another tokenizer), and writes the teacher mapping.
    @Test func tokenizerSubsetWritesAMappedStudent() throws {
        var teacher = Fixtures.byteVocabulary(merges: ["re", "ret", "retu", "retur", "return", "de", "def", "  ", "   ", "    ", "in"],
                                               controls: ["<|endoftext|>", "<|im_start|>"])
        teacher.preTokenizer = "smollm"
        let teacherPath = Fixtures.temporaryPath("teacher.gguf")
        var writer = GGUFWriter()
        teacher.write(to: &writer)
        try writer.write(to: teacherPath)
        let corpus = Fixtures.temporaryPath("subset-corpus")
        try FileManager.default.createDirectory(atPath: corpus + "/train/python", withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: corpus + "/train/python/a.py",
                                       contents: Data("def f(x):\n    return x\n\ndef g():\n    return 1\n".utf8))
        let shard = try Self.run(["corpus", "shard", "--corpus", corpus, "--tokenizer", try Self.tinyModel()])
        #expect(shard.status == 0, "\(shard.stderr)")

        let output = Fixtures.temporaryPath("subset-out") + "/tok.gguf"
        let result = try Self.run(["tokenizer", "subset", "--teacher", teacherPath, "--data", corpus + "/shards/train-python.shard",
                                   "--vocab-size", "300", "--output", output, "--threads", "2"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("added tokens: <fim_prefix> <fim_middle> <fim_suffix>"), "\(result.stdout)")
        #expect(result.stdout.contains("occurrences covered: 100.00%") && result.stdout.contains("reproduced 100.00%"), "\(result.stdout)")
        #expect(FileManager.default.fileExists(atPath: (output as NSString).deletingLastPathComponent + "/tokenizer.json"))
        let student = try TokenizerMetadata(gguf: GGUFFile(path: output))
        let ids = try #require(student.teacherTokenIDs)
        #expect(student.teacherVocabularySize == teacher.tokens.count && student.specials.hasFIM)
        for (id, teacherID) in ids.enumerated() where teacherID >= 0 { #expect(student.tokens[id] == teacher.tokens[Int(teacherID)]) }
        // Used tokens and the merge closure of "return" are in; "in" is unused and out.
        for text in ["return", "retur", "retu", "ret", "re", "def", "   "] {
            #expect(student.tokens.contains(ByteLevelAlphabet.encode(Array(text.utf8))), "\(text)")
        }
        #expect(!student.tokens.contains("in"))

        let tooSmall = try Self.run(["tokenizer", "subset", "--teacher", teacherPath, "--data", corpus + "/shards/train-python.shard",
                                     "--vocab-size", "100", "--output", output])
        #expect(tooSmall.status != 0 && tooSmall.stderr.contains("cannot hold"), "\(tooSmall.stderr)")
    }

    /// The embedded default model (Sources/DefaultModel/Resources) is found from any directory and
    /// completes held-out-style Swift with no --model.
    @Test func defaultModelIsEmbeddedAndCompletes() throws {
        let info = try Self.run(["info"])
        #expect(info.status == 0, "\(info.stderr)")
        #expect(info.stdout.contains("llama") && info.stdout.contains("Q8_0"), "\(info.stdout)")
        let file = Fixtures.temporaryPath("Greeting.swift")
        let source = """
        struct Greeting {
            let name: String

            func message() -> String {
                return "Hello, \\(name)!"
            }
        }

        let greeting = Greeting(name: "World")
        print(greeting.na)

        """
        try source.write(toFile: file, atomically: true, encoding: .utf8)
        // The cursor inside `greeting.na|`: the model should finish the property it saw declared above
        // (the prompt is token-healed: `na` is re-generated under a byte constraint, not output again).
        let result = try Self.run(["complete", "--file", file, "--line", "10", "--column", "18", "--threads", "1"])
        #expect(result.status == 0, "\(result.stderr)")
        let completion = result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(completion.hasPrefix("me"), "completion: \(result.stdout)")
    }

    /// Issue 15, item 7: the model is inside the executable. A copy of the binary alone, in an empty
    /// directory far from the build and the checkout, writes the model once to its cache directory
    /// and completes with it; a second run reuses that file.
    @Test func aCopiedBinaryCarriesItsDefaultModel() throws {
        let directory = Fixtures.temporaryPath("installed")
        let cache = directory + "/cache"
        try FileManager.default.createDirectory(atPath: directory + "/bin", withIntermediateDirectories: true)
        let copy = directory + "/bin/understudy"
        try FileManager.default.copyItem(atPath: Self.binary, toPath: copy)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory + "/bin") == ["understudy"])

        let info = try Self.run(["info"], executable: copy, environment: ["XDG_CACHE_HOME": cache])
        #expect(info.status == 0, "\(info.stderr)")
        #expect(info.stdout.contains("file          \(cache)/understudy/understudy-default-"), "\(info.stdout)")
        #expect(info.stdout.contains("Q8_0"), "\(info.stdout)")
        let written = try FileManager.default.contentsOfDirectory(atPath: cache + "/understudy")
        #expect(written.count == 1 && written[0].hasSuffix(".gguf"), "\(written)")
        let modified = try FileManager.default.attributesOfItem(atPath: cache + "/understudy/" + written[0])[.modificationDate] as? Date

        let file = directory + "/Count.swift"
        try "let items = [1, 2, 3]\nlet total = items.co\n".write(toFile: file, atomically: true, encoding: .utf8)
        let completion = try Self.run(["complete", "--file", file, "--line", "2", "--column", "21", "--threads", "1"],
                                      executable: copy, environment: ["XDG_CACHE_HOME": cache])
        #expect(completion.status == 0, "\(completion.stderr)")
        #expect(!completion.stdout.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "no completion")
        let again = try FileManager.default.attributesOfItem(atPath: cache + "/understudy/" + written[0])[.modificationDate] as? Date
        #expect(modified != nil && modified == again, "the cached model was written again")
    }

    @Test func infoDescribesTheModel() throws {
        let model = try Self.tinyModel()
        let result = try Self.run(["info", model])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("dim 64, hidden 96, 2 layers, 4 heads (2 KV)"))
        #expect(result.stdout.contains("mostly Q8_0"))
        #expect(result.stdout.contains("FIM prefix    1"))
    }

    @Test func completePrintsOneLineAtTheCursor() throws {
        let model = try Self.tinyModel()
        let source = Fixtures.temporaryPath("source.swift")
        try "func add(a: Int, b: Int) -> Int {\n    return a\n}\n".write(toFile: source, atomically: true, encoding: .utf8)
        let result = try Self.run(["complete", "--model", model, "--file", source, "--line", "2", "--column", "13",
                                   "--max-tokens", "8", "--threads", "1"])
        #expect(result.status == 0, "\(result.stderr)")
        // Single-line mode: whatever the random model says, the answer is at most one line.
        #expect(result.stdout.dropLast().split(separator: "\n", omittingEmptySubsequences: false).count <= 1)
    }

    @Test func benchPrintsALlamaBenchTable() throws {
        let model = try Self.tinyModel(type: .q4_0)
        let result = try Self.run(["bench", "--model", model, "-p", "32", "-n", "8", "-r", "1", "--threads", "2"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("| pp32 |") || result.stdout.contains("pp32"))
        #expect(result.stdout.contains("tg8"))
        #expect(result.stdout.contains("Q4_0"))
    }

    /// `bench --data --lookup --dump-prompts`: the table, and one JSON line per position with the prompt's ids and
    /// the model's own token count (what scripts/llamacpp-lookup-bench.py replays).
    @Test func benchDataDumpsItsPrompts() throws {
        let model = try Self.tinyModel(type: .q8_0)
        let sources = Fixtures.temporaryPath("bench-data")
        try FileManager.default.createDirectory(atPath: sources, withIntermediateDirectories: true)
        for f in 0..<3 {
            try (0..<12).map { "func f\(f)_\($0)(x: Int) -> Int {\n    return x + \($0)\n}\n" }.joined()
                .write(toFile: sources + "/file\(f).swift", atomically: true, encoding: .utf8)
        }
        let dump = Fixtures.temporaryPath("prompts.jsonl")
        let result = try Self.run(["bench", "--model", model, "--data", sources, "--lang", "swift", "--lookup", "--samples", "3",
                                   "--continue-samples", "2", "--max-tokens", "6", "--threads", "1", "--dump-prompts", dump])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("| line | lookup |") && result.stdout.contains("| continue | alone |"), "\(result.stdout)")
        let lines = try String(contentsOfFile: dump, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 5)
        for line in lines {
            let record = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            #expect(["line", "continue"].contains(record["task"] as? String))
            #expect(((record["prompt"] as? [Int]) ?? []).count > 0)
            #expect(record["generatedTokens"] is Int && record["text"] is String && record["healing"] is [Int])
        }
    }

    @Test func quantizeThenEncodeRoundTrips() throws {
        let model = try Self.tinyModel(type: .f32)
        let quantized = Fixtures.temporaryPath("q4.gguf")
        let q = try Self.run(["quantize", model, quantized, "--type", "q4_0"])
        #expect(q.status == 0, "\(q.stderr)")
        #expect(try Self.run(["info", quantized]).stdout.contains("mostly Q4_0"))
        let encoded = try Self.run(["tokenizer", "encode", "--model", quantized], stdin: "return x\n")
        #expect(encoded.status == 0)
        let ids = encoded.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            .trimmingCharacters(in: CharacterSet(charactersIn: "[]")).split(separator: ",").map { String($0) }
        let decoded = try Self.run(["tokenizer", "decode", "--model", quantized] + ids)
        #expect(decoded.stdout == "return x\n")
    }

    /// Bad input gets a one-line error and a non-zero exit, never a crash.
    @Test func badInputIsAClearErrorNotACrash() throws {
        let model = try Self.tinyModel()
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: model)))
        let truncated = Fixtures.temporaryPath("truncated.gguf")
        try Data(bytes.prefix(bytes.count / 3)).write(to: URL(fileURLWithPath: truncated))
        let source = Fixtures.temporaryPath("one-line.py")
        try "x = 1\n".write(toFile: source, atomically: true, encoding: .utf8)
        let cases: [([String], String)] = [
            (["info", truncated], "cannot read"),
            (["info", "/nonexistent/model.gguf"], "No such file"),
            (["complete", "--model", truncated, "--file", source, "--line", "1", "--column", "1"], "cannot load model"),
            (["complete", "--model", model, "--file", source, "--line", "9", "--column", "1"], "past the end of the file"),
            (["complete", "--model", model, "--file", source, "--line", "1", "--column", "40"], "past the end of line 1"),
            (["complete", "--model", model, "--file", source, "--line", "0", "--column", "1"], "counts from 1"),
            (["complete", "--model", model, "--file", source, "--line", "1", "--column", "1", "--fim-order", "mps"],
             "Please provide one of 'psm' and 'spm'"),
            (["eval", "--model", model, "--data", "/tmp", "--lang", "swift", "--fim-order", "mps"], "Please provide one of 'psm' and 'spm'"),
            (["eval", "--model", model, "--data", "/tmp", "--lang", "swift", "--file-weight", "1.5"], "--file-weight must be in 0...1"),
            (["eval", "--model", model, "--data", "/tmp", "--lang", "swift", "--file-weight=-0.1"], "--file-weight must be in 0...1"),
            (["eval", "--model", model, "--data", "/tmp", "--lang", "swift", "--cases", "/nonexistent/cases.jsonl"],
             "cannot write /nonexistent/cases.jsonl"),
            (["bench", "--model", model, "--threads", "0"], "--threads"),
            (["quantize", model, "/tmp/x.gguf", "--type", "q5_k"], "q5_k"),
            (["tokenizer", "decode", "--model", model, "99999"], "outside the vocabulary"),
        ]
        for (arguments, message) in cases {
            let result = try Self.run(arguments)
            #expect(result.exitedNormally, "\(arguments) crashed")
            #expect(result.status != 0, "\(arguments) should fail")
            #expect(result.stderr.contains(message), "\(arguments): \(result.stderr)")
        }
    }
}
