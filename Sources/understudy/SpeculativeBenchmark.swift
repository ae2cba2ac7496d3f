import Foundation
import Model
import Training

/// `understudy bench --data`: generation speed with and without drafts at completion positions of real
/// files, through the completion pipeline the server uses: single lines (the rest of the line, as the
/// editor asks while typing) and "Continue from here" (up to 24 lines, as the code action asks). At each
/// position the model runs alone first, then with each configured kind of draft; every drafted text must
/// equal the model's own (counted as mismatches, which should be zero).
struct SpeculativeBenchmark {
    /// One way of generating: the model alone, or with some kinds of draft.
    struct Configuration: Hashable {
        var name: String
        var kinds: Set<DraftKind>
    }

    /// Sums over positions for one task and configuration.
    struct Totals: Codable {
        var positions = 0
        var tokens = 0
        var seconds = 0.0
        var promptSeconds = 0.0
        var rounds = 0
        var drafted = 0
        var accepted = 0
        var ngramRounds = 0, ngramDrafted = 0, ngramAccepted = 0
        var modelRounds = 0, modelDrafted = 0, modelAccepted = 0
        var resynchronisations = 0
        var mismatches = 0
        var latenciesMs: [Double] = []

        var tokensPerSecond: Double { seconds > 0 ? Double(tokens) / seconds : 0 }

        mutating func add(_ outcome: CompletionOutcome, wallMs: Double, matches: Bool) {
            positions += 1
            tokens += outcome.generatedTokens
            seconds += outcome.generationTime.seconds
            promptSeconds += outcome.promptTime.seconds
            let d = outcome.drafting
            rounds += d.total.rounds; drafted += d.total.drafted; accepted += d.total.accepted
            ngramRounds += d.ngram.rounds; ngramDrafted += d.ngram.drafted; ngramAccepted += d.ngram.accepted
            modelRounds += d.model.rounds; modelDrafted += d.model.drafted; modelAccepted += d.model.accepted
            resynchronisations += d.resynchronisations
            if !matches { mismatches += 1 }
            latenciesMs.append(wallMs)
        }
    }

    let pipeline: CompletionPipeline
    let configurations: [Configuration]
    let maxTokens: Int
    /// Called at each position with the model's prompt and the tokens it generated alone (`--dump-prompts`:
    /// other engines replay the same prompts).
    var record: ((Task, FIMPrompt, CompletionOutcome) throws -> Void)?

    /// The tasks measured: name, settings and where the cursor goes.
    enum Task: String, CaseIterable { case line, continueHere = "continue" }

    func settings(_ task: Task) -> CompletionSettings {
        switch task {
        case .line:
            return CompletionSettings(multiLine: false, maxNewTokens: maxTokens)
        case .continueHere:
            // As the language server's "Continue from here" code action asks.
            var settings = CompletionSettings(multiLine: true, maxNewTokens: min(512, maxTokens * 4))
            settings.rules = .init(multiLine: true, stopAtBlankLine: false, maxLines: 24)
            return settings
        }
    }

    /// Runs every configuration at every position of `tasks` over `files`; `progress(done, total)`.
    func run(_ task: Task, positions: [CompletionTask], files: [(path: String, contents: [UInt8])], language: String,
             progress: (Int, Int) -> Void) throws -> [String: Totals] {
        var totals: [String: Totals] = [:]
        let clock = ContinuousClock()
        for (index, position) in positions.enumerated() {
            let file = files[position.file].contents
            let input: CompletionInput
            switch task {
            case .line:
                input = CompletionInput(uri: files[position.file].path, languageId: language,
                                        prefix: Array(file[..<position.cursor]), suffix: Array(file[position.lineEnd...]))
            case .continueHere:
                input = CompletionInput(uri: files[position.file].path, languageId: language,
                                        prefix: Array(file[..<position.lineEnd]), suffix: Array(file[position.lineEnd...]))
            }
            var reference: [String]?
            for configuration in configurations {
                var settings = settings(task)
                settings.draftKinds = configuration.kinds
                let start = clock.now
                let outcome = try pipeline.complete(input, settings: settings)
                let wall = (clock.now - start).seconds * 1000
                if reference == nil {
                    reference = outcome.candidates
                    try record?(task, try pipeline.prompt(for: input, maxNewTokens: settings.maxNewTokens), outcome)
                }
                totals[configuration.name, default: Totals()].add(outcome, wallMs: wall, matches: outcome.candidates == reference)
            }
            progress(index + 1, positions.count)
        }
        return totals
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
