import ArgumentParser
import LanguageServer
import Model

/// Speculative decoding options shared by `complete`, `eval`, `bench` and `serve`.
struct DraftOptions: ParsableArguments {
    @Option(help: ArgumentHelp("A draft model whose proposals the model checks in one pass (speculative decoding): the output stays the model's own, token for token, only faster. It needs the model's vocabulary or one cut from it (a student of it). 'none' (the default): no draft model.", valueName: "file|none"))
    var draft: String?

    @Flag(inversion: .prefixedNo, help: "Also draft by prompt lookup: copy what followed the last few tokens earlier in the prompt, the completion or the text after the cursor (default: on with --draft FILE, else off).")
    var lookup: Bool?

    @Option(help: "Most tokens one prompt-lookup draft proposes.")
    var lookupTokens = SpeculationSettings.defaultLookupTokens

    @Option(help: "Most tokens one draft-model round proposes; the draft also ends where the draft model's probability for its token falls below --draft-min-probability.")
    var draftTokens = 8

    @Option(help: "The draft model's probability below which its draft ends.")
    var draftMinProbability: Float = 0.4

    /// The draft model's path, nil for none.
    var draftPath: String? { draft.flatMap { $0 == "none" ? nil : $0 } }

    /// Whether prompt lookup drafts.
    var usesLookup: Bool { lookup ?? (draftPath != nil) }

    /// Whether anything drafts.
    var enabled: Bool { draftPath != nil || usesLookup }

    func validate() throws {
        guard (1...64).contains(lookupTokens) else { throw ValidationError("--lookup-tokens must be in 1...64") }
        guard (1...64).contains(draftTokens) else { throw ValidationError("--draft-tokens must be in 1...64") }
        guard (0...1).contains(draftMinProbability) else { throw ValidationError("--draft-min-probability must be in 0...1") }
    }

    var settings: SpeculationSettings {
        SpeculationSettings(promptLookup: usesLookup, lookupTokens: lookupTokens, modelTokens: draftTokens,
                            minProbability: draftMinProbability)
    }

    /// A pipeline on `model` that drafts as these options say (a plain one when nothing drafts); a
    /// draft model that cannot be loaded or has another vocabulary is a one-line error.
    func pipeline(model: LlamaModel, threads: Int, promptTokens: Int, fimOrder: FIMOrder?) throws -> CompletionPipeline {
        guard enabled else { return CompletionPipeline(model: model, threads: threads, promptTokens: promptTokens, fimOrder: fimOrder) }
        var draftModel: LlamaModel?
        if let draftPath {
            do { draftModel = try LlamaModel(path: draftPath) } catch { throw CLIError("cannot load draft model \(draftPath): \(error)") }
        }
        do {
            return try CompletionPipeline(model: model, threads: threads, promptTokens: promptTokens, fimOrder: fimOrder,
                                          speculation: settings, draftModel: draftModel)
        } catch {
            throw CLIError("\(error)")
        }
    }
}

extension DraftStatistics {
    /// One line for people: per kind, rounds, drafted, accepted and the rates.
    var summary: String {
        DraftKind.allCases.compactMap { kind -> String? in
            let c = self[kind]
            guard c.rounds > 0 else { return nil }
            return "\(kind.rawValue): \(c.rounds) rounds, \(c.drafted) drafted, \(c.accepted) accepted ("
                + String(format: "%.0f%%, %.2f drafted and %.2f accepted per round", c.acceptanceRate * 100, c.meanDraftLength, c.meanAccepted) + ")"
        }.joined(separator: "; ") + (resynchronisations > 0 ? "; \(resynchronisations) draft-model resynchronisations" : "")
    }
}

/// The server's speculative decoding options, shared by `serve` and `bench-lsp` (which runs the server
/// as `serve` would): the client's settings of the same names override them.
struct ServerDraftOptions: ParsableArguments {
    @Option(help: ArgumentHelp("A draft model for speculative decoding: completions and code actions stay the model's own, token for token, sped up by its drafts. It needs the model's vocabulary or one cut from it (a student of it); a mismatch is an error at start. 'none' (the default): no draft model. The client's \"draft\" setting overrides it.", valueName: "file|none"))
    var draft: String?

    @Flag(inversion: .prefixedNo, help: "Also draft by prompt lookup from the open file (default: on with --draft FILE, else off; the client's \"lookup\" setting overrides it).")
    var lookup: Bool?

    @Flag(inversion: .prefixedNo, help: "With --draft FILE: the draft model answers automatic completions at once and the model's own answer for the same cursor follows through the typing cache (default: on; the client's \"tiered\" setting overrides it).")
    var tiered: Bool?

    /// Sets the draft settings of `configuration`, whose model is already set. A draft model that cannot
    /// draft for the model is an error now, not an empty editor later.
    func apply(to configuration: inout ServerConfiguration) throws {
        configuration.draftPath = draft == "none" ? nil : draft
        configuration.lookup = lookup
        configuration.tiered = tiered
        guard let draftPath = configuration.draftPath else { return }
        guard let modelPath = configuration.resolvedModelPath else {
            throw CLIError("--draft needs a model to draft for: give --model")
        }
        do {
            _ = try DraftVocabulary(draft: LlamaModel(path: draftPath), teacher: LlamaModel(path: modelPath))
        } catch {
            throw CLIError("--draft \(draftPath): \(error)")
        }
    }
}
