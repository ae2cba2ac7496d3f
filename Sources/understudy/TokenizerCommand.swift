import ArgumentParser
import Foundation
import Model
import Training

struct TokenizerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenizer",
        abstract: "Train, inspect and use byte-level BPE tokenizers.",
        subcommands: [Train.self, Subset.self, Encode.self, Decode.self])

    struct Train: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Learn a byte-level BPE vocabulary from source files; write a tokenizer GGUF and tokenizer.json beside it.")

        @Option(help: "A directory of training files (every .swift and .py file below it is read).")
        var data: String

        @Option(help: "Total vocabulary size: 5 special tokens + 256 bytes + merges.")
        var vocabSize = 8192

        @Option(help: "The llama.cpp pre-tokenizer the vocabulary is trained and used with.")
        var preTokenizer = "starcoder"

        @Option(name: .shortAndLong, help: "The tokenizer GGUF to write; tokenizer.json goes in the same folder.")
        var output: String

        func validate() throws {
            guard (262...1_048_576).contains(vocabSize) else { throw ValidationError("--vocab-size must be in 262...1048576") }
        }

        func run() throws {
            // The output's directory is made first, so a bad path fails before the minutes of training.
            let directory = (output as NSString).deletingLastPathComponent
            if !directory.isEmpty {
                do { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) } catch {
                    throw CLIError("cannot create \(directory): \(error.localizedDescription)")
                }
            }
            var trainer = try BPETrainer(vocabularySize: vocabSize, preTokenizer: preTokenizer)
            var files = 0, bytes = 0
            for language in SourceLanguage.allCases {
                for path in try CorpusBuilder.sourceFiles(under: data, language: language) {
                    guard let contents = FileManager.default.contents(atPath: data + "/" + path) else {
                        throw CLIError("cannot read \(data)/\(path)")
                    }
                    trainer.add([UInt8](contents))
                    files += 1
                    bytes += contents.count
                }
            }
            guard files > 0 else { throw CLIError("no .swift or .py files under \(data)") }
            printError("read \(files) files, \(bytes) bytes, \(trainer.distinctPreTokens) distinct pre-tokens")
            var bar = ProgressBar()
            let vocabulary = trainer.train { done, wanted in bar.update(label: "merge", done: done, total: wanted) }
            bar.finish()
            var writer = GGUFWriter()
            writer.set("general.name", .string("understudy-tokenizer"))
            TokenizerMetadata(tokens: vocabulary.tokens, merges: vocabulary.merges, tokenTypes: vocabulary.tokenTypes,
                              preTokenizer: vocabulary.preTokenizer, specials: vocabulary.specials).write(to: &writer)
            try writer.write(to: output)
            let json = (output as NSString).deletingLastPathComponent.isEmpty
                ? "tokenizer.json" : (output as NSString).deletingLastPathComponent + "/tokenizer.json"
            guard FileManager.default.createFile(atPath: json, contents: Data(vocabulary.huggingFaceJSON().utf8)) else {
                throw CLIError("cannot write \(json)")
            }
            print("\(output): \(vocabulary.tokens.count) tokens (\(vocabulary.merges.count) merges); \(json)")
        }
    }

    struct Subset: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Cut a student vocabulary from a teacher's: the tokens a corpus uses most, closed under the merges that build them.",
            discussion: """
                Keeps the teacher's special and byte tokens, then its tokens by how often it uses them on the \
                shards' document texts, each with the parts of the merge that builds it; adds <fim_prefix>, \
                <fim_middle> and <fim_suffix> if the teacher lacks them. Writes a tokenizer GGUF whose \
                understudy.tokenizer.teacher_ids maps every token to the teacher's id, and tokenizer.json beside it.
                """)

        @Option(help: "The teacher GGUF (a model or tokenizer with a byte-level BPE vocabulary, model 'gpt2').")
        var teacher: String

        @Option(help: "A corpus shard whose document texts are counted (repeatable); its own tokens are not read.")
        var data: [String] = []

        @Option(help: "Total student tokens, added FIM markers included.")
        var vocabSize = 16384

        @Option(name: .shortAndLong, help: "The tokenizer GGUF to write; tokenizer.json goes in the same folder.")
        var output: String

        @Option(help: "Worker threads (default: all cores).")
        var threads: Int?

        func validate() throws {
            guard !data.isEmpty else { throw ValidationError("give at least one --data shard") }
            guard (1...1_048_576).contains(vocabSize) else { throw ValidationError("--vocab-size must be in 1...1048576") }
            if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        }

        func run() throws {
            let directory = (output as NSString).deletingLastPathComponent
            if !directory.isEmpty {
                do { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) } catch {
                    throw CLIError("cannot create \(directory): \(error.localizedDescription)")
                }
            }
            let teacherVocabulary: TokenizerMetadata
            let teacherTokenizer: BPETokenizer
            do {
                teacherVocabulary = try TokenizerMetadata(gguf: GGUFFile(path: teacher))
                teacherTokenizer = try teacherVocabulary.makeTokenizer()
            } catch {
                throw CLIError("cannot read a tokenizer from \(teacher): \(error)")
            }
            let shards = try data.map { path in
                do { return try TokenShard(path: path) } catch { throw CLIError("\(error)") }
            }
            let workers = threads ?? defaultThreadCount
            var counts = [Int](repeating: 0, count: teacherVocabulary.tokens.count)
            for shard in shards {
                TokenFrequencies.count(shard, tokenizer: teacherTokenizer, threads: workers, into: &counts)
                printError("counted \(shard.path): \(shard.documentCount) documents")
            }
            let subset: VocabularySubset
            do { subset = try VocabularySubset(teacher: teacherVocabulary, counts: counts, vocabularySize: vocabSize) } catch {
                throw CLIError("\(error)")
            }
            let vocabulary = subset.vocabulary
            var writer = GGUFWriter()
            writer.set("general.name", .string("understudy-tokenizer"))
            vocabulary.write(to: &writer)
            try writer.write(to: output)
            let json = directory.isEmpty ? "tokenizer.json" : directory + "/tokenizer.json"
            guard FileManager.default.createFile(atPath: json, contents: Data(vocabulary.huggingFaceJSON().utf8)) else {
                throw CLIError("cannot write \(json)")
            }

            // How much of the teacher's tokenization of the same text the student reproduces.
            let student = try vocabulary.makeTokenizer()
            var agreement = TokenizationAgreement()
            for shard in shards {
                agreement.add(TokenizationAgreement.measure(shard, teacher: teacherTokenizer, student: student,
                                                            teacherIDs: vocabulary.teacherTokenIDs!, threads: workers))
            }
            func percent(_ part: Int, _ whole: Int) -> String { String(format: "%.2f%%", 100 * Double(part) / Double(max(1, whole))) }
            let added = subset.addedTokens.isEmpty ? "none" : subset.addedTokens.joined(separator: " ")
            print("""
                \(output): \(vocabulary.tokens.count) tokens (\(vocabulary.merges.count) merges) from \(teacherVocabulary.tokens.count); \(json)
                teacher tokens seen: \(subset.distinctTokensSeen) distinct, \(subset.occurrences) occurrences
                kept: \(subset.chosenByCount) by count (cut-off count \(subset.smallestChosenCount ?? 0)), \
                \(subset.addedByClosure) added by the merge closure; added tokens: \(added)
                occurrences covered: \(percent(subset.coveredOccurrences, subset.occurrences))
                student vs teacher on the same text: \(agreement.studentTokens) vs \(agreement.teacherTokens) tokens \
                (\(percent(agreement.studentTokens - agreement.teacherTokens, agreement.teacherTokens)) more); \
                teacher tokens reproduced \(percent(agreement.matchedTokens, agreement.teacherTokens)); \
                documents identical \(agreement.identicalDocuments) of \(agreement.documents)
                """)
        }
    }

    struct Encode: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the token ids of a file's bytes as a JSON array (special-token text is not parsed).")

        @Option(help: "A GGUF file with a tokenizer (a model or a tokenizer-only file).")
        var model: String

        @Option(help: "The file to encode (default: standard input).")
        var file: String?

        func run() throws {
            let tokenizer = try loadTokenizer(model)
            let bytes: [UInt8]
            if let file {
                guard let data = FileManager.default.contents(atPath: file) else { throw CLIError("cannot read \(file)") }
                bytes = [UInt8](data)
            } else {
                bytes = [UInt8](FileHandle.standardInput.readDataToEndOfFile())
            }
            let ids = tokenizer.encode(bytes: bytes)
            print("[" + ids.map(String.init).joined(separator: ",") + "]")
        }
    }

    struct Decode: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write the bytes of token ids given as arguments.")

        @Option(help: "A GGUF file with a tokenizer.")
        var model: String

        @Argument(help: "Token ids.")
        var ids: [Int32]

        func run() throws {
            let tokenizer = try loadTokenizer(model)
            if let bad = ids.first(where: { $0 < 0 || Int($0) >= tokenizer.vocabularySize }) {
                throw CLIError("token id \(bad) is outside the vocabulary (size \(tokenizer.vocabularySize))")
            }
            FileHandle.standardOutput.write(Data(tokenizer.decode(ids)))
        }
    }
}

func loadTokenizer(_ path: String) throws -> BPETokenizer {
    do { return try BPETokenizer(gguf: GGUFFile(path: path)) } catch {
        throw CLIError("cannot read a tokenizer from \(path): \(error)")
    }
}

struct DumpLogits: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dump-logits",
        abstract: "Write the logits after every token of a sequence as raw little-endian float32 rows (for cross-checks).")

    @OptionGroup var modelOptions: ModelOptions

    @Option(help: "A file holding a JSON array of token ids.")
    var tokens: String

    @Option(name: .shortAndLong, help: "The output file: one row of vocabulary-size floats per token.")
    var output: String

    @Flag(help: "Evaluate token by token (the generation path) instead of in one batch.")
    var sequential = false

    func run() throws {
        guard let data = FileManager.default.contents(atPath: tokens),
              let ids = try? JSONDecoder().decode([Int32].self, from: data), !ids.isEmpty else {
            throw CLIError("\(tokens) does not hold a non-empty JSON array of token ids")
        }
        let model = try modelOptions.load()
        let context = InferenceContext(model: model, contextSize: ids.count, threads: modelOptions.threadCount)
        let rows = sequential ? try ids.map { try context.append([$0]) } : try context.appendReturningAllLogits(ids)
        var out = Data(capacity: rows.count * model.config.vocabularySize * 4)
        for row in rows { row.withUnsafeBytes { out.append(contentsOf: $0) } }
        guard FileManager.default.createFile(atPath: output, contents: out) else { throw CLIError("cannot write \(output)") }
    }
}
