import TestFixtures
import Testing

@testable import Model

@Suite struct CompletionPipelineTests {
    func pipeline() -> CompletionPipeline {
        CompletionPipeline(model: Fixtures.lettersModel, threads: 1, promptTokens: 200)
    }

    @Test func consecutiveRequestsReuseTheKVCache() throws {
        let pipeline = pipeline()
        let text = Array("func total(prices: [Int]) -> Int {\n    var sum = 0\n    for p in prices { sum += p }\n    return ".utf8)
        let settings = CompletionSettings(maxNewTokens: 4)
        let first = try pipeline.complete(CompletionInput(uri: "u", languageId: "swift", prefix: text, suffix: []), settings: settings)
        #expect(first.reusedTokens == 0)
        // One more character typed: everything before it comes from the cache.
        let second = try pipeline.complete(CompletionInput(uri: "u", languageId: "swift", prefix: text + [0x73], suffix: []), settings: settings)
        #expect(second.promptTokens == first.promptTokens + 1)
        #expect(second.reusedTokens >= first.promptTokens - 2)
    }

    @Test func timeBudgetStopsGeneration() throws {
        let pipeline = pipeline()
        var settings = CompletionSettings(maxNewTokens: 60)
        settings.timeBudget = .nanoseconds(1)
        let outcome = try pipeline.complete(CompletionInput(uri: "u", languageId: "swift", prefix: Array("let x = ".utf8), suffix: []),
                                          settings: settings)
        #expect(outcome.generatedTokens == 0)
        #expect(outcome.stopReason == .timeBudget)
    }

    @Test func cancellationStopsBetweenTokens() throws {
        let pipeline = pipeline()
        let outcome = try pipeline.complete(CompletionInput(uri: "u", languageId: "swift", prefix: Array("let x = ".utf8), suffix: []),
                                          settings: CompletionSettings(maxNewTokens: 60)) { $0.tokens >= 3 }
        #expect(outcome.generatedTokens == 3)
        #expect(outcome.stopReason == .cancelled)
        #expect(outcome.candidates.isEmpty)
    }

    @Test func neighbourChunksGoIntoThePromptAsComments() throws {
        let other = NeighbourFile(uri: "file:///Pricing.swift", version: 1,
                                  bytes: Array("struct Pricing {\n    func discountedTotal(basket: Basket) -> Int { 0 }\n}\n".utf8))
        let input = CompletionInput(uri: "file:///main.swift", languageId: "swift",
                                    prefix: Array("let basket = Basket()\nlet pricing = Pricing()\nlet t = ".utf8),
                                    suffix: [], neighbours: [other])
        let assembler = ContextAssembler(tokenizer: Fixtures.lettersModel.tokenizer, budget: 600)
        let header = assembler.neighbourHeader(for: input)
        #expect(header.hasPrefix("// From Pricing.swift:\n// struct Pricing {\n"))
        #expect(header.contains("// }\n"))
        let prompt = try assembler.prompt(for: input, header: Fixtures.lettersModel.tokenizer.encode(header))
        let tokens = prompt.tokens
        let specials = Fixtures.lettersModel.tokenizer.specials
        // SPM order: <fim_prefix><fim_suffix> suffix <fim_middle>, then the header and the prefix.
        #expect(Array(tokens.prefix(2)) == [specials.fimPrefix!, specials.fimSuffix!])
        let middle = try #require(tokens.firstIndex(of: specials.fimMiddle!))
        let text = String(decoding: Fixtures.lettersModel.tokenizer.decode(Array(tokens[(middle + 1)...])), as: UTF8.self)
        #expect(text.hasPrefix("// From Pricing.swift:"))
        // The prompt's last token ("= " or " ") is left for the model to write again (token healing).
        #expect((text + String(decoding: prompt.healing, as: UTF8.self)).hasSuffix("let t = "))
        #expect(tokens.count <= 600)
    }

    /// The file's lines that begin like the cursor's line are candidates, not prompt text: the prompt
    /// is the neighbour header and the document; a line the file always continues the same way
    /// wins over anything else the model writes (its share is 1, so its mixture probability is at
    /// least the cache weight, 0.5, and the greedy line's at most 1 − 0.5).
    @Test func theFilesRepeatedLineIsChosenAndStaysOutOfThePrompt() throws {
        let prefix = Array("let value = compute(1)\nprint(value)\nlet value = compute(1)\n    let val".utf8)
        let suffix = Array("\nlet value = compute(1)\n".utf8)
        let input = CompletionInput(uri: "file:///main.swift", languageId: "swift", prefix: prefix, suffix: suffix)
        let assembler = ContextAssembler(tokenizer: Fixtures.lettersModel.tokenizer, budget: 600)
        let prompt = try assembler.prompt(for: input, header: [])
        let middle = try #require(prompt.tokens.firstIndex(of: Fixtures.lettersModel.tokenizer.specials.fimMiddle!))
        #expect(Fixtures.lettersModel.tokenizer.decode(Array(prompt.tokens[(middle + 1)...])) + prompt.healing == prefix)
        let outcome = try pipeline().complete(input, settings: CompletionSettings(maxNewTokens: 8))
        #expect(outcome.candidates.first == "ue = compute(1)")
    }
}
