/// Drafts with a smaller model that shares (part of) the generating model's vocabulary, prompted its own
/// way: a student sees its fill-in-the-middle prompt with the suffix, while a prefix-only teacher sees
/// the text before the cursor. Both prompts end at the cursor, less the bytes each left for token
/// healing, so the draft model's continuation is its healing bytes followed by the completion so far.
///
/// Synchronisation: the teacher's accepted tokens are appended in draft ids when the draft vocabulary
/// has them all. When the teacher chose a token outside it (a subset vocabulary lacks its longer
/// merges), the continuation is tokenized again from the text with the draft model's tokenizer, and
/// the draft model's cache keeps the prompt and whatever prefix of the old continuation still matches
/// (`InferenceContext.evaluate(prompt:)`). The first draft of a generation starts with the teacher's
/// tokens mapped where they spell the draft prompt's healing bytes and the completion, else that way too. Drafting
/// stops at a token the teacher lacks (FIM markers), at a control token, or when the draft model's own
/// probability for its choice falls below `minProbability` (the draft length adapts to its confidence).
public final class ModelDrafter: Drafter {
    public let context: InferenceContext
    public let prompt: FIMPrompt
    public let vocabulary: DraftVocabulary
    /// Most tokens drafted per round.
    public var maxTokens: Int
    /// A drafted token whose probability under the draft model is below this ends the draft (it is kept
    /// only as the first token of a round).
    public var minProbability: Float
    /// Times the continuation was tokenized again after a token outside the draft vocabulary.
    public private(set) var resynchronisations = 0
    /// The draft model's tokens after its prompt: its healing bytes and the completion so far.
    private var continuation: [Int32] = []
    /// The generated teacher tokens `continuation` covers; nil before the first draft.
    private var covered: [Int32]?

    /// A drafter for one request: `context` is the draft model's (its cache may hold an earlier request's
    /// prompt, which is reused where it matches), `prompt` the draft model's prompt for this request.
    public init(context: InferenceContext, prompt: FIMPrompt, vocabulary: DraftVocabulary,
                maxTokens: Int = 8, minProbability: Float = 0.4) {
        self.context = context
        self.prompt = prompt
        self.vocabulary = vocabulary
        self.maxTokens = maxTokens
        self.minProbability = minProbability
    }

    public func draft(prompt teacherPrompt: [Int32], generated: [Int32], output: [UInt8],
                      limit: Int) throws -> (tokens: [Int32], kind: DraftKind) {
        synchronise(generated: generated, output: output)
        let tokenizer = context.model.tokenizer
        let start = prompt.tokens + continuation
        let room = min(limit, maxTokens, context.contextSize - start.count)
        guard room > 0 else { return ([], .model) }
        var logits = try context.evaluate(prompt: start)
        var drafted: [Int32] = []
        while drafted.count < room {
            let (token, probability) = Self.choice(logits)
            guard !tokenizer.isControl(token), let teacherID = vocabulary.teacherID(token),
                  drafted.isEmpty || probability >= minProbability else { break }
            drafted.append(teacherID)
            if drafted.count == room { break }
            logits = try context.append([token])
        }
        return (drafted, .model)
    }

    /// Brings `continuation` up to `generated`: mapped token by token, else tokenized from the text.
    private func synchronise(generated: [Int32], output: [UInt8]) {
        // The same generation as last time (not another candidate from the same prompt): map what is new.
        if let covered, generated.starts(with: covered) {
            var mapped: [Int32] = []
            mapped.reserveCapacity(generated.count - covered.count)
            for token in generated[covered.count...] {
                guard let id = vocabulary.draftID(token) else { break }
                mapped.append(id)
            }
            if mapped.count == generated.count - covered.count {
                continuation += mapped
                self.covered = generated
                return
            }
            resynchronisations += 1
        }
        // The teacher's own tokens where they spell what this model's prompt needs after it (both prompts
        // left the same bytes for healing, e.g. the same prompt), else the text tokenized afresh.
        let tokenizer = context.model.tokenizer, text = prompt.healing + output
        let mapped = generated.compactMap { vocabulary.draftID($0) }
        continuation = mapped.count == generated.count && tokenizer.decode(mapped) == text ? mapped : tokenizer.encode(bytes: text)
        covered = generated
    }

    /// The greedy token and its probability.
    static func choice(_ logits: [Float]) -> (Int32, Float) {
        let best = Sampler.argmax(logits)
        let top = logits[Int(best)]
        var total: Float = 0
        for value in logits { total += expf(value - top) }
        return (best, 1 / total)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
