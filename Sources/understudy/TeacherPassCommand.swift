import ArgumentParser
import Foundation
import Model
import Training

struct TeacherPassCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "teacher-pass",
        abstract: "Run a teacher over a corpus shard's documents in file order and store K sampled tokens per position.",
        discussion: """
        The targets a student distils from when the teacher has no FIM tokens (`distill --teacher-pass`): the \
        teacher reads each document as written (prefix and middle tokens of a FIM example are then matched to it \
        by their place in the text). Documents go in a seeded random order, --documents-per-part to a file, so a \
        pass stopped early covers a random sample of the shard, and a run skips the parts already in --out: stop \
        it any time (Ctrl-C loses at most the part in progress) and run it again to resume. \
        Format: Sources/Training/Distillation/README.md ("Teacher pass").
        """)

    @Option(help: "The teacher GGUF (any llama/qwen2 model; its own tokenizer reads the text).") var teacher: String
    @Option(help: "A corpus shard (`corpus shard`); only its documents' text is used.") var shard: String
    @Option(help: "Directory of the pass's part files (created; resumed when it holds parts).") var out: String
    @Option(help: "Tokens sampled per position (1...255).") var samples = 32
    @Option(help: "Softmax temperature the samples are drawn at.") var temperature: Float = 1
    @Option(help: "Tokens per teacher run; longer documents are read in consecutive windows.") var window = 1024
    @Option(help: "Seeds the document order and the samples.") var seed: UInt64 = 1
    @Option(help: "Documents per part file.") var documentsPerPart = 16
    @Option(help: "Stop after this many parts of the pass order are on disk (default: all).") var parts: Int?
    @Option(help: "Threads of the teacher's forward pass.") var threads = ProcessInfo.processInfo.activeProcessorCount

    func run() throws {
        let settings = TeacherPassSettings(samples: samples, temperature: temperature, window: window, seed: seed,
                                           documentsPerPart: documentsPerPart)
        let corpus = try TokenShard(path: shard)
        let model: LlamaModel
        do { model = try LlamaModel(path: teacher) } catch { throw CLIError("cannot open the teacher \(teacher): \(error)") }
        let pass = try TeacherPass(directory: out, shard: corpus, settings: settings,
                                   teacherFingerprint: try TeacherCache.fingerprint(path: teacher),
                                   teacherVocabularySize: model.config.vocabularySize)
        let runner = try TeacherPassRunner(model: model, window: window, threads: threads)
        let wanted = min(parts ?? pass.partCount, pass.partCount)
        let missing = try (0..<wanted).filter { try !pass.hasPart($0) }
        printError("teacher pass: \(pass.partCount) parts of \(documentsPerPart) documents; \(wanted - missing.count) of the first \(wanted) done, \(missing.count) to run")
        let interrupt = InterruptFlag()
        interrupt.install()
        // Progress in bytes of text: parts differ in size a hundredfold.
        let bytes = { (p: Int) in pass.documents(ofPart: p).reduce(0) { $0 + corpus.textOffsets[$1 + 1] - corpus.textOffsets[$1] } }
        let total = missing.reduce(0) { $0 + bytes($1) }
        var bar = ProgressBar()
        var done = 0, doneBytes = 0
        bar.update(label: "bytes", done: 0, total: total)
        for p in missing {
            if interrupt.isRaised { break }
            try pass.computePart(p, teacher: runner)
            done += 1
            doneBytes += bytes(p)
            bar.update(label: "bytes", done: doneBytes, total: total)
        }
        bar.finish()
        printError(interrupt.isRaised ? "stopped after \(done) parts; run again to resume" : "done: \(wanted) parts in \(out)")
    }
}
