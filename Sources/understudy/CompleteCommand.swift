import ArgumentParser
import Foundation
import Model

struct Complete: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the model's fill-in-the-middle completion at a position in a file.",
        discussion: "The completion is written to standard output; timings go to standard error with --verbose.")

    @OptionGroup var modelOptions: ModelOptions

    @OptionGroup(title: "Speculative decoding") var draftOptions: DraftOptions

    @Option(help: "The source file.")
    var file: String

    @Option(help: "Line of the cursor, counted from 1.")
    var line: Int

    @Option(help: "Column of the cursor, counted from 1 in characters (one past the last character is the line end).")
    var column: Int

    @Flag(help: "Ask for several lines (default: as an editor asks while the user types: several lines on an empty line or after an opening bracket, else the rest of the line).")
    var multiline = false

    @Option(help: "Most tokens to generate.")
    var maxTokens = 48

    @Option(help: "Most tokens of surrounding code in the prompt (the language server's contextTokens).")
    var contextTokens = 1024

    @Option(help: "Candidates to print: the first greedy, the others sampled (as the editor's explicit request).")
    var candidates = 1

    @Option(help: "Sampling temperature of the candidates after the first.")
    var temperature: Float = 0.6

    @Option(help: "Wall-clock budget in milliseconds for all candidates (0: none).")
    var timeBudgetMs = 0

    @Option(help: "FIM prompt order, spm or psm (default: the model's own, as the language server prompts: PSM for Qwen's <|fim_prefix|> vocabularies, SPM for ours; none without FIM tokens).")
    var fimOrder: FIMOrder?

    @Flag(help: "Print prompt size, cache use and timings, and each candidate line's score, to standard error.")
    var verbose = false

    @Flag(help: "Print the prompt's text (special tokens by name; the bytes left for token healing after a '|') to standard error.")
    var showPrompt = false

    func validate() throws {
        guard line >= 1 else { throw ValidationError("--line counts from 1") }
        guard column >= 1 else { throw ValidationError("--column counts from 1") }
        guard (1...4096).contains(maxTokens) else { throw ValidationError("--max-tokens must be in 1...4096") }
        guard (16...65536).contains(contextTokens) else { throw ValidationError("--context-tokens must be in 16...65536") }
        guard (1...8).contains(candidates) else { throw ValidationError("--candidates must be in 1...8") }
        guard temperature >= 0 && temperature.isFinite else { throw ValidationError("--temperature must be 0 or more") }
        guard timeBudgetMs >= 0 else { throw ValidationError("--time-budget-ms must be 0 or more") }
    }

    func run() throws {
        guard let data = FileManager.default.contents(atPath: file) else { throw CLIError("cannot read \(file)") }
        let bytes = [UInt8](data)
        let offset = try Self.byteOffset(in: bytes, line: line, column: column)
        let model = try modelOptions.load()
        let pipeline = try draftOptions.pipeline(model: model, threads: modelOptions.threadCount, promptTokens: contextTokens,
                                                 fimOrder: fimOrder)
        guard pipeline.promptBudget(maxNewTokens: maxTokens) > 3 else {
            throw CLIError("the model's context (\(model.config.contextLength)) is too small for --max-tokens \(maxTokens)")
        }
        let input = CompletionInput(uri: file, languageId: Self.languageId(of: file),
                                    prefix: Array(bytes[..<offset]), suffix: Array(bytes[offset...]))
        var settings = CompletionSettings.atCursor(input, candidates: candidates, maxNewTokens: maxTokens, temperature: temperature,
                                                   timeBudget: timeBudgetMs > 0 ? .milliseconds(timeBudgetMs) : nil)
        if multiline { settings = CompletionSettings(candidates: candidates, multiLine: true, maxNewTokens: maxTokens,
                                                     temperature: temperature, timeBudget: settings.timeBudget) }
        let prompt = try pipeline.prompt(for: input, maxNewTokens: maxTokens)
        if showPrompt {
            printError(String(decoding: model.tokenizer.decode(prompt.tokens), as: UTF8.self)
                       + "|" + String(decoding: prompt.healing, as: UTF8.self))
        }
        if verbose && !settings.multiLine {
            // The model's log-probability of each file line that could follow, and the file's share of it.
            for candidate in RelatedLines.continuations(prefix: input.prefix, suffix: input.suffix) {
                let score = try pipeline.context.lineLogProbability(of: candidate.bytes, after: prompt)
                printError(String(format: "%8.2f %5.2f  ", score, candidate.share) + String(decoding: candidate.bytes, as: UTF8.self))
            }
        }
        let outcome = try pipeline.complete(input, settings: settings)
        if candidates == 1 {
            print(outcome.candidates.first ?? "")
        } else {
            for (index, text) in outcome.candidates.enumerated() { print("--- candidate \(index + 1)\n\(text)") }
        }
        if verbose {
            printError("prompt \(outcome.promptTokens) tokens (\(outcome.reusedTokens) reused); \(outcome.generatedTokens) tokens generated; "
                       + "\(outcome.elapsed); stopped: \(outcome.stopReason.map(\.rawValue) ?? "-")")
            if draftOptions.enabled {
                let rate = outcome.generationTime > .zero ? Double(outcome.generatedTokens) / outcome.generationTime.seconds : 0
                printError(String(format: "generation %.1f tokens/s; ", rate) + "drafts: " + outcome.drafting.summary)
            }
        }
    }

    /// The editor's language id for a file name's extension (it only names the comment marker of
    /// other files' code in the prompt).
    static func languageId(of path: String) -> String {
        switch path.split(separator: ".").last.map(String.init) ?? "" {
        case "py": return "python"
        case "swift": return "swift"
        default: return "plaintext"
        }
    }

    /// The UTF-8 offset of a 1-based line and character column; a column past the line's end is an error.
    static func byteOffset(in bytes: [UInt8], line: Int, column: Int) throws -> Int {
        var start = 0
        for _ in 1..<line {
            guard let newline = bytes[start...].firstIndex(of: 0x0A) else {
                throw CLIError("line \(line) is past the end of the file")
            }
            start = newline + 1
        }
        var end = bytes[start...].firstIndex(of: 0x0A) ?? bytes.count
        if end > start && bytes[end - 1] == 0x0D { end -= 1 }
        let text = String(decoding: bytes[start..<end], as: UTF8.self)
        let characters = text.count
        guard column <= characters + 1 else {
            throw CLIError("column \(column) is past the end of line \(line) (\(characters) characters)")
        }
        let prefix = text.prefix(column - 1)
        return start + prefix.utf8.count
    }
}
