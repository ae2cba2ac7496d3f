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
    /// The kinds of draft generation may use, of those the pipeline has (`CompletionPipeline.speculation`);
    /// empty: the model alone. The text is the same either way, only the time differs.
    public var draftKinds: Set<DraftKind> = Set(DraftKind.allCases)

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

/// How far `CompletionPipeline.complete` has got, for its `shouldStop` callback.
public struct CompletionProgress: Sendable {
    /// Which candidate is being generated: 0 is the greedy one.
    public var candidate: Int
    /// Tokens generated for this candidate so far.
    public var tokens: Int
    /// What this candidate wrote after the cursor so far, before line choice and post-processing.
    public var text: [UInt8]

    public init(candidate: Int, tokens: Int, text: [UInt8]) {
        self.candidate = candidate
        self.tokens = tokens
        self.text = text
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
    /// Time spent evaluating prompts and generating, over all candidates.
    public var promptTime: Duration = .zero
    public var generationTime: Duration = .zero
    /// What was drafted and accepted, over all candidates (speculative decoding).
    public var drafting = DraftStatistics()
}

/// How a pipeline drafts tokens for its model to check (speculative decoding): from the text already
/// there (prompt lookup over the prompt, the completion so far and the text after the cursor) and, where
/// the pipeline has one, with a draft model. The output is the model's own either way.
public struct SpeculationSettings: Sendable, Equatable {
    /// Draft by prompt lookup (`PromptLookup`).
    public var promptLookup: Bool
    /// Most tokens one prompt-lookup draft proposes.
    public var lookupTokens: Int
    /// The n-gram lengths prompt lookup matches, longest first.
    public var minNgram: Int
    public var maxNgram: Int
    /// Most tokens one draft-model round proposes (`ModelDrafter.maxTokens`).
    public var modelTokens: Int
    /// The draft model's confidence below which its draft ends (`ModelDrafter.minProbability`).
    public var minProbability: Float

    /// The default cap on a prompt-lookup draft. Drafts grow from 4 tokens while accepted whole, so the cap
    /// matters on long copies: with verification rows at a fraction of a token (Q4_1 packed for AVX-512
    /// VNNI), 24 beat 10 on "Continue from here" (SmolLM2, dev positions: Swift 1.81 → 1.85–2.02×, Python
    /// 1.65 → 1.75–1.82×) and left single lines level; 32 gained nothing more (models/README.md).
    public static let defaultLookupTokens = 24

    public init(promptLookup: Bool = true, lookupTokens: Int = SpeculationSettings.defaultLookupTokens, minNgram: Int = 2, maxNgram: Int = 4,
                modelTokens: Int = 8, minProbability: Float = 0.4) {
        self.promptLookup = promptLookup
        self.lookupTokens = lookupTokens
        self.minNgram = minNgram
        self.maxNgram = maxNgram
        self.modelTokens = modelTokens
        self.minProbability = minProbability
    }
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
    /// How generation drafts; nil: no speculative decoding.
    public let speculation: SpeculationSettings?
    /// The draft model's own pipeline (its prompt style and KV cache), sharing this one's threads.
    public let draft: CompletionPipeline?
    private let draftVocabulary: DraftVocabulary?
    private var lastHeader: (key: HeaderKey, tokens: [Int32])?

    private struct HeaderKey: Equatable {
        var query: ArraySlice<UInt8>
        var neighbours: [String]
        var languageId: String
    }

    /// A pipeline on `model` with its own KV cache and `threads` worker threads.
    /// `fimOrder` overrides the order the vocabulary implies (nil: the model's own, see `PromptStyle`).
    public convenience init(model: LlamaModel, threads: Int, promptTokens: Int, fimOrder: FIMOrder? = nil) {
        self.init(model: model, context: InferenceContext(model: model, threads: threads), promptTokens: promptTokens,
                  fimOrder: fimOrder, speculation: nil, draft: nil, draftVocabulary: nil)
    }

    /// A pipeline that drafts as `speculation` says, with `draftModel` if given (a model with this
    /// model's vocabulary or a subset cut from it; else `SpeculativeError.vocabularyMismatch`). The
    /// draft model is prompted its own way (`PromptStyle`); `fimOrder` applies to this model only.
    public convenience init(model: LlamaModel, threads: Int, promptTokens: Int, fimOrder: FIMOrder? = nil,
                            speculation: SpeculationSettings, draftModel: LlamaModel?) throws(SpeculativeError) {
        let context = InferenceContext(model: model, threads: threads)
        var draft: CompletionPipeline?, vocabulary: DraftVocabulary?
        if let draftModel {
            vocabulary = try DraftVocabulary(draft: draftModel, teacher: model)
            draft = CompletionPipeline(model: draftModel, context: InferenceContext(model: draftModel, pool: context.pool),
                                       promptTokens: promptTokens, fimOrder: nil, speculation: nil, draft: nil, draftVocabulary: nil)
        }
        self.init(model: model, context: context, promptTokens: promptTokens, fimOrder: fimOrder, speculation: speculation,
                  draft: draft, draftVocabulary: vocabulary)
    }

    private init(model: LlamaModel, context: InferenceContext, promptTokens: Int, fimOrder: FIMOrder?,
                 speculation: SpeculationSettings?, draft: CompletionPipeline?, draftVocabulary: DraftVocabulary?) {
        self.model = model
        self.context = context
        self.promptTokens = promptTokens
        promptStyle = PromptStyle(tokenizer: model.tokenizer, fimOrder: fimOrder)
        self.speculation = speculation
        self.draft = draft
        self.draftVocabulary = draftVocabulary
    }

    /// The drafter for one request at `input` using `kinds` of draft, or nil when there is none.
    public func drafter(for input: CompletionInput, prompt: FIMPrompt, maxNewTokens: Int,
                        kinds: Set<DraftKind> = Set(DraftKind.allCases)) throws -> CombinedDrafter? {
        try drafter(kinds: kinds, lookupExtra: {
            // A prefix-only prompt lacks the text after the cursor; search it too (a FIM prompt has it).
            guard !promptStyle.isFIM, !input.suffix.isEmpty else { return [] }
            return [model.tokenizer.encode(bytes: Array(input.suffix.prefix(Self.lookupSuffixBytes)))]
        }, draftPrompt: { draft in try draft.prompt(for: input, maxNewTokens: maxNewTokens) })
    }

    /// Prompt lookup (searching `lookupExtra()` after the history) and the draft model (prompted with
    /// `draftPrompt(draft)`), each when `speculation` and `kinds` ask for it; nil when neither drafts.
    /// The two closures run only for the kinds in use.
    func drafter(kinds: Set<DraftKind> = Set(DraftKind.allCases), lookupExtra: () -> [[Int32]],
                 draftPrompt: (CompletionPipeline) throws -> FIMPrompt) rethrows -> CombinedDrafter? {
        guard let speculation else { return nil }
        var lookup: PromptLookup?
        if speculation.promptLookup && kinds.contains(.ngram) {
            lookup = PromptLookup(minNgram: speculation.minNgram, maxNgram: speculation.maxNgram, extra: lookupExtra())
        }
        var modelDrafter: ModelDrafter?
        if let draft, let draftVocabulary, kinds.contains(.model) {
            modelDrafter = ModelDrafter(context: draft.context, prompt: try draftPrompt(draft), vocabulary: draftVocabulary,
                                        maxTokens: speculation.modelTokens, minProbability: speculation.minProbability)
        }
        guard lookup != nil || modelDrafter != nil else { return nil }
        return CombinedDrafter(lookup: lookup, lookupTokens: speculation.lookupTokens, model: modelDrafter)
    }

    /// Bytes of the text after the cursor that prompt lookup searches besides the prompt.
    static let lookupSuffixBytes = 8192

    /// The prompt `complete` builds for `input` when generating up to `maxNewTokens` tokens.
    public func prompt(for input: CompletionInput, maxNewTokens: Int) throws -> FIMPrompt {
        let assembler = ContextAssembler(tokenizer: model.tokenizer, budget: promptBudget(maxNewTokens: maxNewTokens),
                                         style: promptStyle)
        return try assembler.prompt(for: input, header: header(for: input, assembler: assembler))
    }

    /// Completes `input`. `shouldStop` is called between generated tokens with the progress so far and
    /// returns whether to stop (cancellation).
    public func complete(_ input: CompletionInput, settings: CompletionSettings,
                         shouldStop: (CompletionProgress) -> Bool = { _ in false }) throws -> CompletionOutcome {
        let clock = ContinuousClock()
        let started = clock.now
        let maxNewTokens = generationLimit(settings.maxNewTokens)
        let prompt = try prompt(for: input, maxNewTokens: maxNewTokens)
        let cursor = input.cursorContext
        let drafter = try drafter(for: input, prompt: prompt, maxNewTokens: maxNewTokens, kinds: settings.draftKinds)

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
                                            singleLine: !settings.multiLine, sampling: sampling,
                                            noLeadingBlank: cursor.isAfterIndentation)
            var generated = 0
            let generation = try context.generate(prompt, options: options, drafter: drafter) { written in
                defer { generated += 1 }
                return shouldStop(CompletionProgress(candidate: index, tokens: generated, text: written))
            }
            if index == 0 { outcome.reusedTokens = generation.reusedTokens }
            outcome.generatedTokens += generation.tokens.count
            outcome.promptTime += generation.promptTime
            outcome.generationTime += generation.generationTime
            outcome.drafting.add(generation.drafting)
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
