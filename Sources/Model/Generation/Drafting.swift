/// Where a drafted run of tokens came from.
public enum DraftKind: String, Sendable, CaseIterable {
    /// Copied from earlier text after the same few tokens (prompt lookup).
    case ngram
    /// Generated greedily by a smaller draft model.
    case model
}

/// A proposer of tokens for speculative decoding, in the ids of the model that checks them.
///
/// The generating model runs the drafted tokens in one pass (`InferenceContext.appendReturningExactLogits`)
/// and keeps those it would have chosen itself, so a drafter only changes speed, never the output.
public protocol Drafter: AnyObject {
    /// Up to `limit` tokens that may follow `generated` (the tokens generated so far after `prompt`;
    /// `output` their bytes without the healed ones: the completion so far), and which kind proposed them.
    func draft(prompt: [Int32], generated: [Int32], output: [UInt8], limit: Int) throws -> (tokens: [Int32], kind: DraftKind)
}

/// What drafting did in one or more generations: per kind, the verification passes with its drafts,
/// the tokens drafted and the tokens the generating model accepted.
public struct DraftStatistics: Sendable, Equatable {
    public struct Counts: Sendable, Equatable {
        /// Verification passes with a draft of this kind.
        public var rounds = 0
        public var drafted = 0
        public var accepted = 0

        public init() {}

        /// Accepted over drafted (0 without drafts).
        public var acceptanceRate: Double { drafted == 0 ? 0 : Double(accepted) / Double(drafted) }
        /// Mean draft length per round.
        public var meanDraftLength: Double { rounds == 0 ? 0 : Double(drafted) / Double(rounds) }
        /// Mean accepted tokens per round.
        public var meanAccepted: Double { rounds == 0 ? 0 : Double(accepted) / Double(rounds) }

        static func + (a: Counts, b: Counts) -> Counts {
            var sum = Counts()
            sum.rounds = a.rounds + b.rounds
            sum.drafted = a.drafted + b.drafted
            sum.accepted = a.accepted + b.accepted
            return sum
        }
    }

    public var ngram = Counts()
    public var model = Counts()
    /// Draft-model resynchronisations: the model chose a token outside the draft vocabulary, so the
    /// draft model's continuation was tokenized again from the text (`ModelDrafter`).
    public var resynchronisations = 0

    public init() {}

    /// Both kinds together.
    public var total: Counts { ngram + model }

    public subscript(kind: DraftKind) -> Counts {
        get { kind == .ngram ? ngram : model }
        set { if kind == .ngram { ngram = newValue } else { model = newValue } }
    }

    /// Adds another generation's statistics.
    public mutating func add(_ other: DraftStatistics) {
        ngram = ngram + other.ngram
        model = model + other.model
        resynchronisations += other.resynchronisations
    }
}

/// Drafts from the text already there (prompt lookup, as llama.cpp's `--lookup` and llama-cpp-python's
/// `LlamaPromptLookupDecoding`): finds the last few tokens earlier in the prompt and the generation (or
/// in other text, such as the file after the cursor) and proposes what followed them. Code repeats
/// itself, so this costs nothing to draft and is often right for long runs.
///
/// The longest n-gram (from `maxNgram` down to `minNgram` tokens) that occurs earlier wins; among its
/// occurrences the latest, since nearby code is the likeliest to repeat. The draft is what followed,
/// up to the limit.
public struct PromptLookup: Sendable {
    public var minNgram: Int
    public var maxNgram: Int
    /// Other token sequences searched after the history (e.g. the text after the cursor).
    public var extra: [[Int32]]

    public init(minNgram: Int = 2, maxNgram: Int = 4, extra: [[Int32]] = []) {
        self.minNgram = max(1, minNgram)
        self.maxNgram = max(self.minNgram, maxNgram)
        self.extra = extra
    }

    /// Up to `limit` tokens that followed an earlier occurrence of `history`'s last n-gram.
    public func draft(history: [Int32], limit: Int) -> [Int32] {
        guard limit > 0, history.count > minNgram else { return [] }
        for n in stride(from: min(maxNgram, history.count - 1), through: minNgram, by: -1) {
            let key = history[(history.count - n)...]
            // The history itself, latest occurrence first (`latest` never finds the n-gram's own position:
            // nothing follows it).
            if let found = Self.latest(key, in: history[...], limit: limit) { return found }
            for text in extra {
                if let found = Self.latest(key, in: text[...], limit: limit) { return found }
            }
        }
        return []
    }

    /// What follows the latest occurrence of `key` in `text` that has at least one token after it.
    private static func latest(_ key: ArraySlice<Int32>, in text: ArraySlice<Int32>, limit: Int) -> [Int32]? {
        let n = key.count
        guard text.count > n else { return nil }
        let first = key.first!
        var start = text.endIndex - n - 1
        while start >= text.startIndex {
            if text[start] == first && text[start..<(start + n)].elementsEqual(key) {
                let from = start + n
                return Array(text[from..<min(text.endIndex, from + limit)])
            }
            start -= 1
        }
        return nil
    }
}

/// The drafter a completion uses: prompt lookup first (free when it finds a match), else the draft
/// model, if any.
///
/// A prompt-lookup draft's length adapts: it starts at `initialLookupTokens`, doubles (up to
/// `lookupTokens`) after a draft accepted whole and falls to one more than the accepted part after a
/// rejection, since every drafted token costs part of a token's time to check (`matvecRows`).
public final class CombinedDrafter: Drafter {
    public let lookup: PromptLookup?
    /// Most tokens one prompt-lookup draft proposes.
    public let lookupTokens: Int
    /// The first prompt-lookup draft's length in a generation.
    public let initialLookupTokens: Int
    public let model: ModelDrafter?
    /// The current prompt-lookup draft length.
    private var lookupLimit: Int
    /// The last prompt-lookup draft: its length and the generated count when it was made.
    private var lastLookup: (length: Int, generated: Int)?

    public init(lookup: PromptLookup?, lookupTokens: Int = SpeculationSettings.defaultLookupTokens, initialLookupTokens: Int = 4,
                model: ModelDrafter?) {
        self.lookup = lookup
        self.lookupTokens = max(1, lookupTokens)
        self.initialLookupTokens = max(1, min(initialLookupTokens, self.lookupTokens))
        self.model = model
        lookupLimit = self.initialLookupTokens
    }

    public func draft(prompt: [Int32], generated: [Int32], output: [UInt8], limit: Int) throws -> (tokens: [Int32], kind: DraftKind) {
        if let lookup {
            adaptLookupLimit(generated: generated.count)
            let tokens = lookup.draft(history: prompt + generated, limit: min(limit, lookupLimit))
            if !tokens.isEmpty {
                lastLookup = (tokens.count, generated.count)
                return (tokens, .ngram)
            }
            lastLookup = nil
        }
        if let model { return try model.draft(prompt: prompt, generated: generated, output: output, limit: limit) }
        return ([], .ngram)
    }

    /// After a lookup draft of k tokens, the next call comes a + 1 tokens later when a were accepted.
    private func adaptLookupLimit(generated: Int) {
        guard let last = lastLookup else { return }
        let accepted = generated - last.generated - 1
        if accepted < 0 || accepted > last.length {
            lookupLimit = initialLookupTokens   // another generation (the next candidate)
        } else if accepted == last.length {
            lookupLimit = min(lookupTokens, lookupLimit * 2)
        } else {
            lookupLimit = max(1, accepted + 1)
        }
        lastLookup = nil
    }

    /// The draft model's resynchronisations so far.
    public var resynchronisations: Int { model?.resynchronisations ?? 0 }
}
