/// Why an instruction could not be turned into an edit.
public enum InstructionError: Error, Equatable, Sendable, CustomStringConvertible {
    case template(ChatTemplateUnavailable)
    /// The selection and instruction alone need more prompt tokens than the model has room for.
    case tooLong(tokens: Int, budget: Int)

    public var description: String {
        switch self {
        case .template(let reason): return reason.description
        case .tooLong(let tokens, let budget):
            return "the selection and instruction take \(tokens) prompt tokens, more than the \(budget) the model has room for; select less"
        }
    }
}

/// A user's instruction applied to a selection ("add error handling"): the chat that asks an instruct
/// model for it, and how the model's answer becomes the text that replaces the selection.
///
/// The model is shown the instruction, the selected code in a fenced block and, when they fit, the lines
/// around it; its answer is made to start inside a code fence (the assistant turn begins with
/// "```lang\n") and stops at the closing fence, so what it writes is the replacement code itself.
public struct InstructionEdit: Sendable, Equatable {
    public var instruction: String
    public var languageId: String
    /// The file's name as the prompt mentions it.
    public var fileName: String
    /// Document bytes before the selection, the selection, and after it.
    public var before: [UInt8]
    public var selection: [UInt8]
    public var after: [UInt8]

    /// Most lines of context on each side.
    public static let contextLinesBefore = 40
    public static let contextLinesAfter = 20

    /// An edit request.
    public init(instruction: String, languageId: String, fileName: String, before: [UInt8], selection: [UInt8], after: [UInt8]) {
        self.instruction = instruction
        self.languageId = languageId
        self.fileName = fileName
        self.before = before
        self.selection = selection
        self.after = after
    }

    /// The fence's language tag.
    var fence: String {
        switch languageId {
        case "plaintext", "": return ""
        case "typescriptreact": return "tsx"
        case "javascriptreact": return "jsx"
        default: return languageId
        }
    }

    /// What the assistant's turn begins with.
    public var assistantPrefix: String { "```\(fence)\n" }

    /// The chat, with at most `linesBefore`/`linesAfter` lines of context.
    public func messages(linesBefore: Int = contextLinesBefore, linesAfter: Int = contextLinesAfter) -> [ChatMessage] {
        let above = Self.lastLines(before, linesBefore)
        let below = Self.firstLines(after, linesAfter)
        var text = ""
        if !above.allSatisfy(\.isWhitespace) {
            text += "Here is the code just before it in \(fileName):\n```\(fence)\n\(above)\n```\n"
        }
        if !below.allSatisfy(\.isWhitespace) {
            text += (text.isEmpty ? "Here is the code just after it in \(fileName):\n" : "and the code just after it:\n")
                + "```\(fence)\n\(below)\n```\n"
        }
        if !text.isEmpty { text += "\n" }
        let code = String(decoding: selection, as: UTF8.self)
        text += "Rewrite the following code as instructed.\n\nInstruction: \(instruction.trimmingWhitespace())\n\n"
            + "```\(fence)\n\(code.hasSuffix("\n") ? String(code.dropLast()) : code)\n```\n\n"
            + "Answer with the complete rewritten code only, in one ```\(fence) block."
        return [ChatMessage(.user, text)]
    }

    /// The prompt's tokens within `budget`: the context shrinks (halving its lines) until it fits.
    public func promptTokens(template: ChatTemplate, tokenizer: BPETokenizer, budget: Int) throws(InstructionError) -> [Int32] {
        var linesBefore = Self.contextLinesBefore, linesAfter = Self.contextLinesAfter
        while true {
            let tokens: [Int32]
            do {
                tokens = try template.tokens(messages(linesBefore: linesBefore, linesAfter: linesAfter),
                                             assistantPrefix: assistantPrefix, tokenizer: tokenizer)
            } catch {
                throw .template(error)
            }
            if tokens.count <= budget { return tokens }
            if linesBefore == 0 && linesAfter == 0 { throw .tooLong(tokens: tokens.count, budget: budget) }
            linesBefore /= 2
            linesAfter /= 2
        }
    }

    /// Where generation stops: the closing fence, and the end-of-turn marker as text.
    public func stopSequences(template: ChatTemplate) -> [[UInt8]] {
        [Array("\n```".utf8), Array(template.endOfTurn.utf8)]
    }

    /// The text that replaces the selection, from the model's answer; nil when it wrote no code.
    ///
    /// The answer's own indentation is removed and the selection's put back, so a method rewritten at
    /// the left margin lands at its class's depth; the selection's trailing line end is kept.
    public func replacement(from answer: String) -> String? {
        // "\r\n" is one Character in Swift; lines are split at "\n" below.
        var text = answer.replacing("\r\n", with: "\n")
        if text.hasPrefix("```") { return nil }
        if let fence = text.firstRange(of: "\n```") { text = String(text[..<fence.lowerBound]) }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        while let last = lines.last, last.allSatisfy(\.isWhitespace) { lines.removeLast() }
        while let first = lines.first, first.allSatisfy(\.isWhitespace) { lines.removeFirst() }
        guard !lines.isEmpty else { return nil }

        let common = lines.filter { !$0.allSatisfy(\.isWhitespace) }
            .map { $0.prefix { $0 == " " || $0 == "\t" }.count }.min() ?? 0
        lines = lines.map { $0.allSatisfy(\.isWhitespace) ? "" : String($0.dropFirst(common)) }

        let lineStart = String(decoding: before[((before.lastIndex(of: 0x0A).map { $0 + 1 }) ?? 0)...], as: UTF8.self)
        let selected = String(decoding: selection, as: UTF8.self)
        let firstIndent: String, indent: String
        if lineStart.allSatisfy({ $0 == " " || $0 == "\t" }) {
            // The selection starts in its line's indentation: every line gets the line's indentation,
            // the first only the part the selection covers.
            indent = lineStart + selected.prefix { $0 == " " || $0 == "\t" }
            firstIndent = String(indent.dropFirst(lineStart.count))
        } else {
            indent = String(lineStart.prefix { $0 == " " || $0 == "\t" })
            firstIndent = ""
        }
        var result = lines.enumerated().map { index, line in
            line.isEmpty ? "" : (index == 0 ? firstIndent : indent) + line
        }.joined(separator: "\n")
        if selection.last == 0x0A { result += "\n" }
        return result
    }

    static func lastLines(_ bytes: [UInt8], _ count: Int) -> String {
        guard count > 0 else { return "" }
        var lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false)
        if lines.last?.isEmpty == true { lines.removeLast() }
        // The selection may start mid-line: that partial line is part of the context too.
        return lines.suffix(count).map { String(decoding: $0, as: UTF8.self) }.joined(separator: "\n")
    }

    static func firstLines(_ bytes: [UInt8], _ count: Int) -> String {
        guard count > 0 else { return "" }
        var lines = Array(bytes.split(separator: 0x0A, omittingEmptySubsequences: false).prefix(count))
        while lines.last?.isEmpty == true { lines.removeLast() }
        return lines.map { String(decoding: $0, as: UTF8.self) }.joined(separator: "\n")
    }
}

/// What `CompletionPipeline.instruct` produced.
public struct InstructionOutcome: Sendable {
    /// The text that replaces the selection, nil when the model wrote no code.
    public var replacement: String?
    /// The model's answer as generated (after the opening fence).
    public var answer: String
    public var promptTokens: Int
    public var generatedTokens: Int
    public var elapsed: Duration
    public var stopReason: StopReason
    /// What was drafted and accepted (a pipeline that drafts).
    public var drafting = DraftStatistics()
}

extension CompletionPipeline {
    /// The model's chat template, or why there is none (checked against the vocabulary).
    public var chatTemplate: Result<ChatTemplate, ChatTemplateUnavailable> {
        ChatTemplate.of(model.file, tokenizer: model.tokenizer)
    }

    /// Runs `edit` through the model's chat template: greedy, up to `maxNewTokens` (fewer for a short
    /// selection), within `timeBudget`. `shouldStop` is polled between tokens with the count so far.
    ///
    /// A pipeline that drafts (`speculation`) checks drafts here too: prompt lookup over the prompt,
    /// which holds the selection an edit mostly copies, and its draft model prompted with the same chat
    /// text in its own tokens. The answer is the model's own either way.
    public func instruct(_ edit: InstructionEdit, maxNewTokens: Int = 1024, timeBudget: Duration? = nil,
                         shouldStop: (Int) -> Bool = { _ in false }) throws -> InstructionOutcome {
        let started = ContinuousClock.now
        let template: ChatTemplate
        switch chatTemplate {
        case .success(let found): template = found
        case .failure(let reason): throw InstructionError.template(reason)
        }
        let selectionTokens = model.tokenizer.encode(bytes: edit.selection).count
        let limit = generationLimit(min(maxNewTokens, selectionTokens * 2 + 256))
        let budget = min(model.config.contextLength - limit, 8192)
        let prompt = try edit.promptTokens(template: template, tokenizer: model.tokenizer, budget: budget)
        let options = GenerationOptions(maxTokens: limit, timeBudget: timeBudget, singleLine: false,
                                        sampling: .greedy, stopSequences: edit.stopSequences(template: template))
        var generated = 0
        let generation = try context.generate(prompt: prompt, options: options, drafter: chatDrafter(prompt: prompt)) { _ in
            defer { generated += 1 }
            return shouldStop(generated)
        }
        let answer = generation.text
        return InstructionOutcome(replacement: generation.stopReason == .cancelled ? nil : edit.replacement(from: answer),
                                  answer: answer, promptTokens: prompt.count, generatedTokens: generation.tokens.count,
                                  elapsed: ContinuousClock.now - started, stopReason: generation.stopReason,
                                  drafting: generation.drafting)
    }

    /// The drafter for a chat prompt, or nil when the pipeline does not draft.
    func chatDrafter(prompt: [Int32]) -> CombinedDrafter? {
        drafter(lookupExtra: { [] }, draftPrompt: { draft in
            // The chat text in the draft model's tokens (its vocabulary may lack the template's markers:
            // then they are spelled out, which is still the text the model reads), its last half-context
            // only, so that it has room to follow the answer (a small student's context is short; it
            // stops drafting when the answer fills the rest).
            let tokens = draft.model.tokenizer.encode(bytes: model.tokenizer.decode(prompt)).suffix(draft.context.contextSize / 2)
            return FIMPrompt(tokens: Array(tokens), prefixTokenStart: 0, prefixBytes: 0, suffixBytes: 0)
        })
    }
}
