import Model

/// What the engine is asked to produce for one input.
public struct CompletionSettings: Sendable, Equatable {
    /// Candidates to return; the first is greedy, the others sampled with seeds 1, 2, ...
    public var candidates: Int = 1
    public var multiLine: Bool = false
    public var rules: PostProcessor.Rules = .init(multiLine: false)
    public var maxTokens: Int = 48
    /// Temperature of the sampled candidates.
    public var temperature: Float = 0.6
    /// Budget for the whole request (all candidates); nil for none.
    public var timeBudget: Duration?

    /// Settings for one request.
    public init(candidates: Int = 1, multiLine: Bool = false, maxTokens: Int = 48, temperature: Float = 0.6,
                timeBudget: Duration? = nil) {
        self.candidates = candidates
        self.multiLine = multiLine
        rules = .init(multiLine: multiLine)
        self.maxTokens = maxTokens
        self.temperature = temperature
        self.timeBudget = timeBudget
    }
}

/// The engine's answer: cleaned, distinct, non-empty candidates and what they cost.
public struct CompletionOutcome: Sendable {
    public var candidates: [String]
    public var promptTokens: Int
    public var reusedTokens: Int
    public var generatedTokens: Int
    public var elapsed: Duration
    /// Why the last generation stopped.
    public var stopReason: StopReason?
}

/// Runs completions on one model with one KV cache. Not thread-safe: the `ModelWorker` owns it and
/// calls it from its queue only, which is also what lets consecutive requests reuse the cache.
public final class CompletionEngine: @unchecked Sendable {
    public let model: LlamaModel
    public let context: InferenceContext
    /// Most prompt tokens (configured, and capped by the model's context minus the generation room).
    public let contextTokens: Int
    private var lastHeader: (key: HeaderKey, tokens: [Int32])?

    private struct HeaderKey: Equatable {
        var query: ArraySlice<UInt8>
        var neighbours: [String]
        var languageId: String
    }

    /// An engine on `model` with its own KV cache and `threads` worker threads.
    public init(model: LlamaModel, threads: Int, contextTokens: Int) {
        self.model = model
        context = InferenceContext(model: model, threads: threads)
        self.contextTokens = contextTokens
    }

    /// Completes `input`. `progress` is called between generated tokens with the count so far and
    /// returns whether to stop (cancellation).
    public func complete(_ input: CompletionInput, settings: CompletionSettings,
                         shouldStop: (Int) -> Bool = { _ in false }) throws -> CompletionOutcome {
        let clock = ContinuousClock()
        let started = clock.now
        let maxTokens = min(settings.maxTokens, max(1, model.config.contextLength / 4))
        let budget = min(contextTokens, model.config.contextLength - maxTokens)
        let assembler = ContextAssembler(tokenizer: model.tokenizer, budget: budget)
        let prompt = try assembler.prompt(for: input, header: header(for: input, assembler: assembler))
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
            let options = GenerationOptions(maxTokens: maxTokens, timeBudget: remaining,
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
            if index == 0 && !settings.multiLine && generation.stopReason != .timeBudget {
                line = try context.chosenLine(generation, candidates: RelatedLines.continuations(prefix: input.prefix, suffix: input.suffix),
                                              after: prompt)
            }
            // A line that ran to the token limit and the last thing it wrote again and again is a loop.
            if generation.stopReason == .maxTokens && line == generation.text { line = PostProcessor.trimmingLoop(line) }
            let text = PostProcessor.process(line, context: cursor, rules: settings.rules)
            if !text.isEmpty && !outcome.candidates.contains(text) { outcome.candidates.append(text) }
        }
        outcome.elapsed = clock.now - started
        return outcome
    }

    /// The neighbour header's tokens, recomputed only when the lines above the cursor or the set of
    /// neighbour versions changed.
    private func header(for input: CompletionInput, assembler: ContextAssembler) -> [Int32] {
        guard !input.neighbours.isEmpty else { return [] }
        let lineStart = (input.prefix.lastIndex(of: 0x0A).map { $0 + 1 }) ?? 0
        let key = HeaderKey(query: input.prefix[max(0, lineStart - 1500)..<lineStart],
                            neighbours: input.neighbours.prefix(6).map { "\($0.uri)@\($0.version)" },
                            languageId: input.languageId)
        if let lastHeader, lastHeader.key == key { return lastHeader.tokens }
        let text = assembler.neighbourHeader(for: input)
        let tokens = text.isEmpty ? [] : model.tokenizer.encode(text)
        lastHeader = (key, tokens)
        return tokens
    }
}
