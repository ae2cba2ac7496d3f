import ArgumentParser
import Foundation
import Model

struct Complete: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the model's fill-in-the-middle completion at a position in a file.",
        discussion: "The completion is written to standard output; timings go to standard error with --verbose.")

    @OptionGroup var modelOptions: ModelOptions

    @Option(help: "The source file.")
    var file: String

    @Option(help: "Line of the cursor, counted from 1.")
    var line: Int

    @Option(help: "Column of the cursor, counted from 1 in characters (one past the last character is the line end).")
    var column: Int

    @Flag(help: "Allow several lines (default: stop at the end of the line).")
    var multiline = false

    @Option(help: "Most tokens to generate.")
    var maxTokens = 64

    @Option(help: "Most tokens of surrounding code in the prompt.")
    var contextTokens = 1024

    @Option(help: "Sampling temperature; 0 is greedy.")
    var temperature: Float = 0

    @Option(help: "Seed for sampling.")
    var seed: UInt64 = 0

    @Option(help: "Wall-clock budget in milliseconds (0: none).")
    var timeBudgetMs = 0

    @Option(help: "Prompt order: spm (suffix first, as the language server prompts) or psm.")
    var fimOrder = FIMOrder.spm

    @Flag(help: "Print prompt size, cache use and timings to standard error.")
    var verbose = false

    @Flag(help: "Print the prompt's text (special tokens by name; the bytes left for token healing after a '|') to standard error.")
    var showPrompt = false

    func validate() throws {
        guard line >= 1 else { throw ValidationError("--line counts from 1") }
        guard column >= 1 else { throw ValidationError("--column counts from 1") }
        guard (1...4096).contains(maxTokens) else { throw ValidationError("--max-tokens must be in 1...4096") }
        guard (16...65536).contains(contextTokens) else { throw ValidationError("--context-tokens must be in 16...65536") }
        guard temperature >= 0 && temperature.isFinite else { throw ValidationError("--temperature must be 0 or more") }
        guard timeBudgetMs >= 0 else { throw ValidationError("--time-budget-ms must be 0 or more") }
    }

    func run() throws {
        guard let data = FileManager.default.contents(atPath: file) else { throw CLIError("cannot read \(file)") }
        let bytes = [UInt8](data)
        let offset = try Self.byteOffset(in: bytes, line: line, column: column)
        let model = try modelOptions.load()
        let promptBudget = min(contextTokens, model.config.contextLength - maxTokens)
        guard promptBudget > 3 else { throw CLIError("the model's context (\(model.config.contextLength)) is too small for --max-tokens \(maxTokens)") }
        let prompt = try FIMPromptBuilder(tokenizer: model.tokenizer, maxTokens: promptBudget, order: fimOrder)
            .build(prefix: bytes[..<offset], suffix: bytes[offset...])
        let context = InferenceContext(model: model, contextSize: prompt.tokens.count + maxTokens,
                                       threads: modelOptions.threadCount)
        let options = GenerationOptions(
            maxTokens: maxTokens,
            timeBudget: timeBudgetMs > 0 ? .milliseconds(timeBudgetMs) : nil,
            singleLine: !multiline,
            sampling: SamplingSettings(temperature: temperature, seed: seed))
        if showPrompt {
            printError(String(decoding: model.tokenizer.decode(prompt.tokens), as: UTF8.self)
                       + "|" + String(decoding: prompt.healing, as: UTF8.self))
        }
        let result = try context.generate(prompt, options: options)
        var text = result.text
        // As in the language server: the greedy line competes with what the file's related lines say next.
        if !multiline && result.stopReason != .timeBudget {
            let candidates = RelatedLines.continuations(prefix: bytes[..<offset], suffix: bytes[offset...])
            if verbose {
                // The model's log-probability of each line and the file's share of it.
                for line in [LineCandidate(bytes: result.bytes, share: 0)] + candidates {
                    let score = try context.lineLogProbability(of: line.bytes, after: prompt)
                    printError(String(format: "%8.2f %5.2f  ", score, line.share) + String(decoding: line.bytes, as: UTF8.self))
                }
            }
            text = try context.chosenLine(result, candidates: candidates, after: prompt)
        }
        print(text)
        if verbose {
            printError("prompt \(prompt.tokens.count) tokens (\(prompt.prefixBytes) B before, \(prompt.suffixBytes) B after) in \(result.promptTime); "
                       + "\(result.tokens.count) tokens in \(result.generationTime); stopped: \(result.stopReason.rawValue)")
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
