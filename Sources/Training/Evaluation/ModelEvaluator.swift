import Foundation
import Model

/// Runs the measurements of EVALUATION.md for one model over a set of files.
///
/// Line completions go through the language server's own `CompletionPipeline` (prompt, generation,
/// line choice, loop trimming, post-processing), asked as the editor asks while the user types, so the
/// figures are of what is served.
public struct ModelEvaluator {
    public let model: LlamaModel
    public let pipeline: CompletionPipeline
    /// The pipeline's context, which also measures bits per byte.
    public var context: InferenceContext { pipeline.context }

    /// Settings of one evaluation run.
    public struct Options: Sendable {
        public var samples: Int
        public var seed: UInt64
        /// Most tokens a completion may generate before it is cut.
        public var maxNewTokens: Int
        /// New tokens scored per bits-per-byte window after the first (nil: half the window).
        public var bpbStride: Int?
        /// Tokens per bits-per-byte window (nil: the model's context), so that models of different
        /// contexts can be scored with the same context.
        public var bpbWindow: Int?
        /// Whether the file's lines that begin like the cursor's compete with the model's line, as in
        /// the language server (false: the model's line alone).
        public var candidateLines: Bool
        /// The weight of the file's statistics against the model's when choosing among them.
        public var fileWeight: Double

        public init(samples: Int = 1000, seed: UInt64 = 0, maxNewTokens: Int = 48, bpbStride: Int? = nil, bpbWindow: Int? = nil,
                    candidateLines: Bool = true, fileWeight: Double = LineCandidate.fileWeight) {
            self.bpbWindow = bpbWindow
            self.samples = samples
            self.seed = seed
            self.maxNewTokens = maxNewTokens
            self.bpbStride = bpbStride
            self.candidateLines = candidateLines
            self.fileWeight = fileWeight
        }
    }

    /// Which part is running and how far it is, for a progress bar.
    public enum Phase: String, Sendable { case bitsPerByte = "bpb", completion = "lines" }

    /// One pipeline serves every window and every completion; its cache is reused between prompts.
    /// `promptTokens` is the completion prompts' budget (the language server's `contextTokens`; capped
    /// so that the answer still fits the context).
    public init(model: LlamaModel, threads: Int, promptTokens: Int = 1024, fimOrder: FIMOrder? = nil) {
        self.init(pipeline: CompletionPipeline(model: model, threads: threads, promptTokens: promptTokens, fimOrder: fimOrder))
    }

    /// Evaluates `pipeline`'s model as that pipeline serves it (e.g. with drafts: the same text, other latencies).
    public init(pipeline: CompletionPipeline) {
        model = pipeline.model
        self.pipeline = pipeline
    }

    /// The completion the language server shows for `task` (the rest of the cursor's line removed, as
    /// if the user were typing it), cut to its first line: what is scored against the target.
    public func complete(_ task: CompletionTask, in file: [UInt8], path: String, language: String,
                         options: Options) throws -> String {
        let input = CompletionInput(uri: path, languageId: language, prefix: Array(file[..<task.cursor]),
                                    suffix: Array(file[task.lineEnd...]))
        var settings = CompletionSettings.atCursor(input, maxNewTokens: options.maxNewTokens)
        settings.candidateLines = options.candidateLines
        settings.fileWeight = options.fileWeight
        let shown = try pipeline.complete(input, settings: settings).candidates.first ?? ""
        return String(shown.prefix { $0 != "\n" })
    }

    /// Measures `files` (path, contents) and returns the report; `progress(phase, done, total)` is called as it goes.
    /// `onCase` sees every completion position with what the model and the baseline wrote.
    public func evaluate(files: [(path: String, contents: [UInt8])], language: String, data: String, options: Options,
                         progress: (Phase, Int, Int) -> Void = { _, _, _ in },
                         onCase: (CompletionCase) -> Void = { _ in }) throws -> EvaluationReport {
        let clock = ContinuousClock()
        let started = clock.now

        var meter = BitsPerByteMeter(context: context, window: options.bpbWindow, stride: options.bpbStride)
        let totalBytes = files.reduce(0) { $0 + $1.contents.count }
        var doneBytes = 0
        for file in files {
            try meter.measure(file.contents)
            doneBytes += file.contents.count
            progress(.bitsPerByte, doneBytes, totalBytes)
        }

        let contents = files.map(\.contents)
        let tasks = CompletionTask.sample(files: contents, count: options.samples, seed: options.seed)
        let budget = pipeline.promptBudget(maxNewTokens: options.maxNewTokens)
        guard budget > 3 else {
            throw EvaluationError.contextTooSmall(context: model.config.contextLength, maxNewTokens: options.maxNewTokens)
        }
        var modelScores = ScoreSum(), emptyScores = ScoreSum(), frequentScores = ScoreSum()
        var latencies: [Double] = []
        for (index, task) in tasks.enumerated() {
            let file = contents[task.file]
            let begin = clock.now
            let completion = try complete(task, in: file, path: files[task.file].path, language: language, options: options)
            latencies.append(Self.milliseconds(clock.now - begin))
            let baseline = FrequentContinuation.complete(task, in: file)
            modelScores.add(completion, task.target)
            emptyScores.add("", task.target)
            frequentScores.add(baseline, task.target)
            onCase(CompletionCase(file: files[task.file].path, line: file[..<task.lineStart].count { $0 == 0x0A } + 1,
                                  typed: String(decoding: file[task.lineStart..<task.cursor], as: UTF8.self),
                                  target: task.target, completion: completion, frequentContinuation: baseline))
            progress(.completion, index + 1, tasks.count)
        }

        var completion = modelScores.scores
        completion.latencyP50Ms = CompletionMetrics.percentile(latencies, 0.5)
        completion.latencyP95Ms = CompletionMetrics.percentile(latencies, 0.95)
        let path = model.path ?? ""
        // The size of the file itself, not of a symbolic link to it.
        let resolved = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        let fileBytes = (try? FileManager.default.attributesOfItem(atPath: resolved)[.size] as? Int) ?? 0
        return EvaluationReport(
            model: model.name, modelFile: path, parameters: model.parameterCount, fileBytes: fileBytes,
            language: language, data: data, files: files.count, bytes: meter.bytes, tokens: meter.tokens,
            bitsPerByte: meter.bitsPerByte, samples: tasks.count, seed: options.seed, promptTokens: budget,
            completion: completion, noModel: emptyScores.scores, frequentContinuation: frequentScores.scores,
            seconds: Self.milliseconds(clock.now - started) / 1000, bpbWindow: meter.window, bpbStride: meter.stride)
    }

    static func milliseconds(_ d: Duration) -> Double {
        Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15
    }
}

/// One line-completion position of an evaluation and both answers (`understudy eval --cases`).
public struct CompletionCase: Codable, Sendable, Equatable {
    /// The file's path as given to the evaluator, and the cursor's line (from 1).
    public var file: String
    public var line: Int
    /// The line up to the cursor, and the rest of it (what the completion should be).
    public var typed: String
    public var target: String
    /// What the model wrote, and what the frequent-continuation baseline wrote.
    public var completion: String
    public var frequentContinuation: String
}

/// Running sums of exact match and edit similarity.
struct ScoreSum {
    var count = 0, matches = 0
    var similarity = 0.0

    mutating func add(_ completion: String, _ target: String) {
        count += 1
        if CompletionMetrics.exactMatch(completion, target) { matches += 1 }
        similarity += CompletionMetrics.editSimilarity(completion, target)
    }

    var scores: CompletionScores {
        CompletionScores(exactMatch: count == 0 ? 0 : Double(matches) / Double(count),
                         editSimilarity: count == 0 ? 0 : similarity / Double(count))
    }
}

/// Why an evaluation cannot run.
public enum EvaluationError: Error, CustomStringConvertible, Equatable {
    case contextTooSmall(context: Int, maxNewTokens: Int)
    case noFiles(directory: String, language: String)

    public var description: String {
        switch self {
        case .contextTooSmall(let c, let n):
            return "the model's context (\(c) tokens) leaves no room for a prompt after \(n) completion tokens"
        case .noFiles(let dir, let lang): return "no \(lang) files under \(dir)"
        }
    }
}
