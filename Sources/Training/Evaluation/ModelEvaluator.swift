import Foundation
import Model

/// Runs the measurements of EVALUATION.md for one model over a set of files.
public struct ModelEvaluator {
    public let model: LlamaModel
    public let context: InferenceContext

    /// Settings of one evaluation run.
    public struct Options: Sendable {
        public var samples: Int
        public var seed: UInt64
        /// Most prompt tokens for a completion (capped so that the answer still fits the context).
        public var promptTokens: Int
        /// Most tokens a completion may generate before it is cut.
        public var maxNewTokens: Int
        /// New tokens scored per bits-per-byte window after the first (nil: half the context).
        public var bpbStride: Int?
        /// Order of the completion prompts (the language server's default unless measuring the other).
        public var fimOrder: FIMOrder
        /// Whether prompts carry the file's lines that begin like the cursor's (`RelatedLines`) above the
        /// cursor's line: an experiment (models/README.md); the language server's prompts do not.
        public var relatedLines: Bool
        /// Whether what those lines say after the typed text is offered as candidate completions, the
        /// line chosen with the model (`InferenceContext.mostLikelyLine`), as in the language server.
        public var candidateLines: Bool
        /// The weight of the file's statistics against the model's when choosing among them.
        public var cacheWeight: Double

        public init(samples: Int = 1000, seed: UInt64 = 0, promptTokens: Int = 512, maxNewTokens: Int = 48, bpbStride: Int? = nil,
                    fimOrder: FIMOrder = .spm, relatedLines: Bool = false, candidateLines: Bool = true,
                    cacheWeight: Double = LineCandidate.cacheWeight) {
            self.candidateLines = candidateLines
            self.cacheWeight = cacheWeight
            self.fimOrder = fimOrder
            self.relatedLines = relatedLines
            self.samples = samples
            self.seed = seed
            self.promptTokens = promptTokens
            self.maxNewTokens = maxNewTokens
            self.bpbStride = bpbStride
        }
    }

    /// Which part is running and how far it is, for a progress bar.
    public enum Phase: String, Sendable { case bitsPerByte = "bpb", completion = "lines" }

    /// One context serves every window and every completion; its cache is reused between prompts.
    public init(model: LlamaModel, threads: Int) {
        self.model = model
        context = InferenceContext(model: model, contextSize: model.config.contextLength, threads: threads)
    }

    /// Measures `files` (path, contents) and returns the report; `progress(phase, done, total)` is called as it goes.
    /// `onCase` sees every completion position with what the model and the baseline wrote.
    public func evaluate(files: [(path: String, contents: [UInt8])], language: String, data: String, options: Options,
                         progress: (Phase, Int, Int) -> Void = { _, _, _ in },
                         onCase: (CompletionCase) -> Void = { _ in }) throws -> EvaluationReport {
        let clock = ContinuousClock()
        let started = clock.now

        var meter = BitsPerByteMeter(context: context, stride: options.bpbStride)
        let totalBytes = files.reduce(0) { $0 + $1.contents.count }
        var doneBytes = 0
        for file in files {
            try meter.measure(file.contents)
            doneBytes += file.contents.count
            progress(.bitsPerByte, doneBytes, totalBytes)
        }

        let contents = files.map(\.contents)
        let tasks = CompletionTask.sample(files: contents, count: options.samples, seed: options.seed)
        let budget = min(options.promptTokens, model.config.contextLength - options.maxNewTokens)
        guard budget > 3 else {
            throw EvaluationError.contextTooSmall(context: model.config.contextLength, maxNewTokens: options.maxNewTokens)
        }
        let builder = FIMPromptBuilder(tokenizer: model.tokenizer, maxTokens: budget, order: options.fimOrder)
        let generation = GenerationOptions(maxTokens: options.maxNewTokens, singleLine: true, sampling: .greedy)
        var modelScores = ScoreSum(), emptyScores = ScoreSum(), frequentScores = ScoreSum()
        var latencies: [Double] = []
        for (index, task) in tasks.enumerated() {
            let file = contents[task.file]
            // The rest of the line is what the model must write, so the suffix starts at the line's end.
            let begin = clock.now
            let related = options.relatedLines
                ? RelatedLines.block(in: file, lineStart: task.lineStart, cursor: task.cursor, excludedEnd: task.lineEnd) : []
            let prompt = try builder.build(prefix: file[..<task.cursor], suffix: file[task.lineEnd...], related: related)
            let result = try context.generate(prompt, options: generation)
            var completion = result.text
            if options.candidateLines {
                let candidates = RelatedLines.continuations(in: file, lineStart: task.lineStart, cursor: task.cursor,
                                                            excludedEnd: task.lineEnd)
                completion = try context.chosenLine(result, candidates: candidates, cacheWeight: options.cacheWeight, after: prompt)
            }
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
            seconds: Self.milliseconds(clock.now - started) / 1000)
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
