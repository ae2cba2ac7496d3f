/// What the pipeline is asked to produce for one input.
public struct CompletionSettings: Sendable, Equatable {
    /// Candidates to return; the first is greedy, the others sampled with seeds 1, 2, ...
    public var candidates: Int
    public var multiLine: Bool
    public var rules: PostProcessor.Rules
    /// Most tokens one candidate may generate.
    public var maxNewTokens: Int
    /// Temperature of the sampled candidates.
    public var temperature: Float
    /// Budget for the whole request (all candidates); nil for none.
    public var timeBudget: Duration?
    /// Whether a single greedy line competes with what the file's lines that begin like the cursor's
    /// say next (`RelatedLines.continuations`, chosen by `InferenceContext.chosenLine`); false: the
    /// model's line alone.
    public var candidateLines: Bool
    /// The weight of the file's line statistics against the model's in that choice.
    public var fileWeight: Double

    /// Settings for one request.
    public init(candidates: Int = 1, multiLine: Bool = false, maxNewTokens: Int = 48, temperature: Float = 0.6,
                timeBudget: Duration? = nil, candidateLines: Bool = true, fileWeight: Double = LineCandidate.fileWeight) {
        self.candidates = candidates
        self.multiLine = multiLine
        rules = .init(multiLine: multiLine)
        self.maxNewTokens = maxNewTokens
        self.temperature = temperature
        self.timeBudget = timeBudget
        self.candidateLines = candidateLines
        self.fileWeight = fileWeight
    }

    /// The settings of an inline completion at `input`'s cursor, as the editor asks for one while the
    /// user types: several lines on an empty line or after an opening bracket, else the rest of the line.
    public static func atCursor(_ input: CompletionInput, candidates: Int = 1, maxNewTokens: Int = 48,
                                temperature: Float = 0.6, timeBudget: Duration? = nil) -> CompletionSettings {
        CompletionSettings(candidates: candidates, multiLine: input.wantsMultipleLines,
                           maxNewTokens: maxNewTokens, temperature: temperature, timeBudget: timeBudget)
    }
}

/// The pipeline's answer: cleaned, distinct, non-empty candidates and what they cost.
public struct CompletionOutcome: Sendable {
    public var candidates: [String]
    public var promptTokens: Int
    public var reusedTokens: Int
    public var generatedTokens: Int
    public var elapsed: Duration
    /// Why the last generation stopped.
    public var stopReason: StopReason?
}

/// The one completion pipeline: a document and a cursor in, the text the client will see out. Prompt
/// (`ContextAssembler`), generation, the line choice with the file's own lines, loop trimming and
/// post-processing (`PostProcessor`). The language server, `understudy complete` and `understudy eval`
/// all call `complete`, so the figures measured are of what is served.
///
/// Not thread-safe: one pipeline has one KV cache, which consecutive requests reuse; the language
/// server's `ModelWorker` calls it from its queue only.
public final class CompletionPipeline: @unchecked Sendable {
    public let model: LlamaModel
    public let context: InferenceContext
    /// Most prompt tokens (as configured; capped by the model's context minus the generation room).
    public let promptTokens: Int
    /// How the model is prompted: chosen from its vocabulary (`PromptStyle`), the FIM order overridable.
    public let promptStyle: PromptStyle
    private var lastHeader: (key: HeaderKey, tokens: [Int32])?

    private struct HeaderKey: Equatable {
        var query: ArraySlice<UInt8>
        var neighbours: [String]
        var languageId: String
    }

    /// A pipeline on `model` with its own KV cache and `threads` worker threads.
    /// `fimOrder` overrides the order the vocabulary implies (nil: the model's own, see `PromptStyle`).
    public init(model: LlamaModel, threads: Int, promptTokens: Int, fimOrder: FIMOrder? = nil) {
        self.model = model
        context = InferenceContext(model: model, threads: threads)
        self.promptTokens = promptTokens
        promptStyle = PromptStyle(tokenizer: model.tokenizer, fimOrder: fimOrder)
    }

    /// The prompt `complete` builds for `input` when generating up to `maxNewTokens` tokens.
    public func prompt(for input: CompletionInput, maxNewTokens: Int) throws -> FIMPrompt {
        let assembler = ContextAssembler(tokenizer: model.tokenizer, budget: promptBudget(maxNewTokens: maxNewTokens),
                                         style: promptStyle)
        return try assembler.prompt(for: input, header: header(for: input, assembler: assembler))
    }

    /// Completes `input`. `shouldStop` is called between generated tokens with the count so far and
    /// returns whether to stop (cancellation).
    public func complete(_ input: CompletionInput, settings: CompletionSettings,
                         shouldStop: (Int) -> Bool = { _ in false }) throws -> CompletionOutcome {
        let clock = ContinuousClock()
        let started = clock.now
        let maxNewTokens = generationLimit(settings.maxNewTokens)
        let prompt = try prompt(for: input, maxNewTokens: maxNewTokens)
        let cursor = input.cursorContext

        var outcome = CompletionOutcome(candidates: [], promptTokens: prompt.tokens.count, reusedTokens: 0,
                                        generatedTokens: 0, elapsed: .zero, stopReason: nil)
        for index in 0..<max(1, settings.candidates) {
            var remaining: Duration? = nil
            if let total = settings.timeBudget {
                remaining = total - (clock.now - started)
                if remaining! <= .zero { outcome.stopReason = .timeBudget; break }
            }
            let sampling = index == 0
                ? SamplingSettings.greedy
                : SamplingSettings(temperature: max(settings.temperature, 0.05), seed: UInt64(index))
            let options = GenerationOptions(maxTokens: maxNewTokens, timeBudget: remaining,
                                            singleLine: !settings.multiLine, sampling: sampling)
            var generated = 0
            let generation = try context.generate(prompt, options: options) {
                defer { generated += 1 }
                return shouldStop(generated)
            }
            if index == 0 { outcome.reusedTokens = generation.reusedTokens }
            outcome.generatedTokens += generation.tokens.count
            outcome.stopReason = generation.stopReason
            if generation.stopReason == .cancelled { break }
            var line = generation.text
            // The greedy line competes with what the file's lines that begin like this one say next.
            if index == 0 && settings.candidateLines && !settings.multiLine && generation.stopReason != .timeBudget {
                line = try context.chosenLine(generation, candidates: RelatedLines.continuations(prefix: input.prefix, suffix: input.suffix),
                                              fileWeight: settings.fileWeight, after: prompt)
            }
            // A line that ran to the token limit and the last thing it wrote again and again is a loop.
            if generation.stopReason == .maxTokens && line == generation.text { line = PostProcessor.trimmingLoop(line) }
            let text = PostProcessor.process(line, context: cursor, rules: settings.rules)
            if !text.isEmpty && !outcome.candidates.contains(text) { outcome.candidates.append(text) }
        }
        outcome.elapsed = clock.now - started
        return outcome
    }

    /// Generation is capped at a quarter of the model's context, so a prompt always has room.
    func generationLimit(_ maxNewTokens: Int) -> Int {
        min(maxNewTokens, max(1, model.config.contextLength / 4))
    }

    /// The prompt tokens left for a request generating up to `maxNewTokens`.
    public func promptBudget(maxNewTokens: Int) -> Int {
        min(promptTokens, model.config.contextLength - generationLimit(maxNewTokens))
    }

    /// The neighbour header's tokens, recomputed only when the lines above the cursor or the set of
    /// neighbour versions changed.
    private func header(for input: CompletionInput, assembler: ContextAssembler) -> [Int32] {
        guard !input.neighbours.isEmpty else { return [] }
        let key = HeaderKey(query: input.prefix[ContextAssembler.neighbourQuery(in: input.prefix)],
                            neighbours: input.neighbours.prefix(ContextAssembler.maxNeighbours).map { "\($0.uri)@\($0.version)" },
                            languageId: input.languageId)
        if let lastHeader, lastHeader.key == key { return lastHeader.tokens }
        let text = assembler.neighbourHeader(for: input)
        let tokens = text.isEmpty ? [] : model.tokenizer.encode(text)
        lastHeader = (key, tokens)
        return tokens
    }
}
