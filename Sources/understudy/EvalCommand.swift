import ArgumentParser
import Foundation
import Model
import Training

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure a model on held-out code: bits per byte, line completion (EM, ES, latency), size.",
        discussion: """
        Reads every file of --lang under --data. Bits per byte: NLL of all tokens in bits over the UTF-8 bytes \
        they cover, in overlapping windows of the model's context. Line completion: --samples seeded cursor \
        positions, the rest of the line is the target; each completion is what the language server would show \
        there (its completion pipeline: prompt, greedy decoding, line choice, post-processing), cut to its first line. Baselines: empty completion and the most frequent continuation of the \
        typed part of the line elsewhere in the file. See EVALUATION.md.
        """)

    @OptionGroup var modelOptions: ModelOptions

    @OptionGroup(title: "Speculative decoding (the same completions, other latencies)") var draftOptions: DraftOptions

    @Option(help: "Directory of held-out source files (e.g. a corpus's dev/).")
    var data: String

    @Option(help: "Language of the files to read: swift or python.")
    var lang: String

    @Option(help: "Line-completion positions to draw.")
    var samples = 1000

    @Option(help: "Seed for the positions.")
    var seed: UInt64 = 0

    @Option(help: "Most tokens of surrounding code in a completion prompt (the language server's contextTokens).")
    var promptTokens = 1024

    @Option(help: "Most tokens one completion may generate.")
    var maxTokens = 48

    @Option(help: "New tokens scored per bits-per-byte window after the first (default: half the window).")
    var bpbStride: Int?

    @Option(help: "Tokens per bits-per-byte window (default: the model's context; e.g. 512 to score a long-context teacher with a student's context).")
    var bpbWindow: Int?

    @Option(help: "FIM prompt order, spm or psm (default: the model's own, as the language server prompts: PSM for Qwen's <|fim_prefix|> vocabularies, SPM for ours; none without FIM tokens).")
    var fimOrder: FIMOrder?

    @Flag(inversion: .prefixedNo, help: "Offer what the file's lines that begin like the cursor's line say after the typed text as candidate lines, chosen with the model as the language server does (--no-candidate-lines: the model's greedy line alone).")
    var candidateLines = true

    @Option(help: "Weight of the file's own statistics against the model's when choosing among the candidate lines (0: the model alone).")
    var fileWeight = LineCandidate.fileWeight

    @Option(help: "Also write every completion position (file, line, typed text, target, the model's and the baseline's answers) to this file, one JSON object per line.")
    var cases: String?

    @Flag(help: "Print one JSON object instead of the table.")
    var json = false

    func validate() throws {
        guard SourceLanguage(rawValue: lang) != nil else { throw ValidationError("--lang must be swift or python, not \(lang)") }
        guard samples >= 0 else { throw ValidationError("--samples must be 0 or more") }
        guard (8...65536).contains(promptTokens) else { throw ValidationError("--prompt-tokens must be in 8...65536") }
        guard (1...1024).contains(maxTokens) else { throw ValidationError("--max-tokens must be in 1...1024") }
        if let bpbStride, bpbStride < 1 { throw ValidationError("--bpb-stride must be at least 1") }
        if let bpbWindow, bpbWindow < 2 { throw ValidationError("--bpb-window must be at least 2") }
        guard (0...1).contains(fileWeight) else { throw ValidationError("--file-weight must be in 0...1") }
    }

    func run() throws {
        // A --cases file that cannot be written fails now, not after the whole evaluation.
        if let cases, !FileManager.default.createFile(atPath: cases, contents: nil) { throw CLIError("cannot write \(cases)") }
        let language = SourceLanguage(rawValue: lang)!
        let paths = try CorpusBuilder.sourceFiles(under: data, language: language)
        guard !paths.isEmpty else { throw EvaluationError.noFiles(directory: data, language: lang) }
        let files = try paths.map { path -> (path: String, contents: [UInt8]) in
            guard let contents = FileManager.default.contents(atPath: data + "/" + path) else {
                throw CLIError("cannot read \(data)/\(path)")
            }
            return (path, [UInt8](contents))
        }
        let model = try modelOptions.load()
        let evaluator = ModelEvaluator(pipeline: try draftOptions.pipeline(model: model, threads: modelOptions.threadCount,
                                                                           promptTokens: promptTokens, fimOrder: fimOrder))
        let options = ModelEvaluator.Options(samples: samples, seed: seed, maxNewTokens: maxTokens, bpbStride: bpbStride, bpbWindow: bpbWindow,
                                             candidateLines: candidateLines, fileWeight: fileWeight)
        var caseLines: [String] = []
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var bar = ProgressBar()
        let report = try evaluator.evaluate(files: files, language: lang, data: data, options: options, progress: { phase, done, total in
            bar.update(label: phase.rawValue, done: done, total: total)
        }, onCase: { item in
            if cases != nil, let line = try? encoder.encode(item) { caseLines.append(String(decoding: line, as: UTF8.self)) }
        })
        bar.finish()
        if let cases {
            let text = caseLines.map { $0 + "\n" }.joined()
            guard FileManager.default.createFile(atPath: cases, contents: Data(text.utf8)) else { throw CLIError("cannot write \(cases)") }
        }
        print(json ? report.json : report.table)
    }
}
