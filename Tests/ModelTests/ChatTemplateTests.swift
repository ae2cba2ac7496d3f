import TestFixtures
import Testing
@testable import Model

/// Chat templates are recognised by their markers and laid out in code, one family at a time.
@Suite struct ChatTemplateTests {
    /// The start of Qwen2.5-Coder-0.5B-Instruct's template (Jinja whitespace control, escaped newlines).
    static let qwenTemplate = """
        {%- if tools %}
            {{- '<|im_start|>system\\n' }}
            {%- if messages[0]['role'] == 'system' %}
                {{- messages[0]['content'] }}
            {%- else %}
                {{- 'You are Qwen, created by Alibaba Cloud. You are a helpful assistant.' }}
            {%- endif %}
        {%- else %}
            {%- if messages[0]['role'] == 'system' %}
                {{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}
            {%- else %}
                {{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\\n' }}
            {%- endif %}
        {%- endif %}
        {%- for message in messages %}{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}{%- endfor %}
        {%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}
        """

    /// Llama 3's template.
    static let llama3Template = """
        {% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}
        """

    static let messages = [ChatMessage(.user, "Implement this function.")]

    @Test func smolLMIsChatMLWithItsDefaultSystemPrompt() throws {
        let template = try ChatTemplate.detect(Fixtures.chatMLTemplate).get()
        #expect(template == ChatTemplate(family: .chatML,
                                         defaultSystem: "You are a helpful AI assistant named SmolLM, trained by Hugging Face"))
        #expect(template.segments(Self.messages, assistantPrefix: "```python\n") == [
            .special("<|im_start|>"), .text("system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face"),
            .special("<|im_end|>"), .text("\n"),
            .special("<|im_start|>"), .text("user\nImplement this function."), .special("<|im_end|>"), .text("\n"),
            .special("<|im_start|>"), .text("assistant\n```python\n"),
        ])
        // A system message of our own replaces the default.
        let own = template.segments([ChatMessage(.system, "Be brief."), ChatMessage(.user, "Hi")])
        #expect(own.first(where: { if case .text = $0 { return true } else { return false } }) == .text("system\nBe brief."))
    }

    @Test func qwenIsRecognisedWithItsEscapedDefaultSystemPrompt() throws {
        let template = try ChatTemplate.detect(Self.qwenTemplate).get()
        #expect(template.family == .qwen2)
        #expect(template.defaultSystem == "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.")
        #expect(template.endOfTurn == "<|im_end|>")
    }

    @Test func genericChatMLHasNoDefaultSystemPrompt() throws {
        let template = try ChatTemplate.detect(
            "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}").get()
        #expect(template == ChatTemplate(family: .chatML))
        #expect(template.segments(Self.messages).first == .special("<|im_start|>"))
        #expect(template.segments(Self.messages).dropFirst().first == .text("user\nImplement this function."))
    }

    @Test func llama3HeadersAndBOS() throws {
        let template = try ChatTemplate.detect(Self.llama3Template).get()
        #expect(template == ChatTemplate(family: .llama3, beginsWithBOS: true))
        #expect(template.segments([ChatMessage(.user, "  Implement this function.\n")], assistantPrefix: "```\n") == [
            .special("<|begin_of_text|>"),
            .special("<|start_header_id|>"), .text("user"), .special("<|end_header_id|>"), .text("\n\nImplement this function."),
            .special("<|eot_id|>"),
            .special("<|start_header_id|>"), .text("assistant"), .special("<|end_header_id|>"), .text("\n\n```\n"),
        ])
        #expect(template.endOfTurn == "<|eot_id|>")
    }

    @Test func noOrUnknownTemplateSaysWhy() {
        #expect(ChatTemplate.detect(nil) == .failure(.noTemplate))
        #expect(ChatTemplate.detect("  \n") == .failure(.noTemplate))
        guard case .failure(.unknownFamily(let excerpt)) = ChatTemplate.detect("{{ bos_token }}[INST] {{ messages[0]['content'] }} [/INST]") else {
            Issue.record("a Mistral template is not one of ours")
            return
        }
        #expect(excerpt.contains("[INST]"))
        #expect(ChatTemplateUnavailable.noTemplate.description.contains("no chat template"))
    }

    @Test func tokensUseTheMarkerIdsAndTheVocabularyMustHaveThem() throws {
        let controls = Fixtures.specialTexts + ["<|im_start|>", "<|im_end|>"]
        let tokenizer = try Fixtures.byteVocabulary(controls: controls).makeTokenizer()
        let template = ChatTemplate(family: .chatML)
        let ids = try template.tokens(Self.messages, tokenizer: tokenizer)
        #expect(ids.first == 5)
        #expect(ids.filter { $0 == 6 }.count == 1)   // one <|im_end|>: the user's
        #expect(ids.last != 6)
        #expect(tokenizer.decode(ids) == Array("<|im_start|>user\nImplement this function.<|im_end|>\n<|im_start|>assistant\n".utf8))

        let plain = try Fixtures.byteVocabulary().makeTokenizer()
        #expect(throws: ChatTemplateUnavailable.missingToken(family: "ChatML", token: "<|im_start|>")) {
            try template.tokens(Self.messages, tokenizer: plain)
        }
    }

    @Test func aGGUFFilesTemplateIsCheckedAgainstItsVocabulary() throws {
        let chat = try GGUFFile(path: Fixtures.chatLettersModelPath)
        #expect(try ChatTemplate.of(chat).get().family == .chatML)
        let student = try GGUFFile(path: Fixtures.lettersModelPath)
        #expect(ChatTemplate.of(student) == .failure(.noTemplate))
    }

    @Test func generationStopsAtAStopSequence() {
        let stops = [Array("\n```".utf8)]
        #expect(InferenceContext.firstStop(stops, in: Array("x = 1\n``".utf8), newBytes: 2) == nil)
        #expect(InferenceContext.firstStop(stops, in: Array("x = 1\n```".utf8), newBytes: 1) == 5)
        #expect(InferenceContext.firstStop(stops, in: Array("x\n```\ny\n```".utf8), newBytes: 4) == 7)
        #expect(InferenceContext.firstStop([], in: Array("abc".utf8), newBytes: 3) == nil)
    }
}

/// The instruction's prompt and how the answer becomes the replacement.
@Suite struct InstructionEditTests {
    func edit(_ before: String, _ selection: String, _ after: String = "", language: String = "python") -> InstructionEdit {
        InstructionEdit(instruction: "add error handling", languageId: language, fileName: "a.py",
                        before: Array(before.utf8), selection: Array(selection.utf8), after: Array(after.utf8))
    }

    @Test func promptShowsContextInstructionAndSelection() {
        let message = edit("import os\n", "def f():\n    pass\n", "print(f())\n").messages()[0]
        #expect(message.role == .user)
        #expect(message.content == """
            Here is the code just before it in a.py:
            ```python
            import os
            ```
            and the code just after it:
            ```python
            print(f())
            ```

            Rewrite the following code as instructed.

            Instruction: add error handling

            ```python
            def f():
                pass
            ```

            Answer with the complete rewritten code only, in one ```python block.
            """)
        #expect(edit("", "x = 1").messages()[0].content.hasPrefix("Rewrite the following code"))
        #expect(edit("", "x = 1").assistantPrefix == "```python\n")
    }

    @Test func contextShrinksToFitAndTooLongIsAnError() throws {
        let controls = Fixtures.specialTexts + ["<|im_start|>", "<|im_end|>"]
        let tokenizer = try Fixtures.byteVocabulary(controls: controls).makeTokenizer()
        let before = String(repeating: "x = 1\n", count: 100)
        let e = edit(before, "y = 2\n")
        let full = try e.promptTokens(template: ChatTemplate(family: .chatML), tokenizer: tokenizer, budget: 10_000)
        let small = try e.promptTokens(template: ChatTemplate(family: .chatML), tokenizer: tokenizer, budget: full.count - 50)
        #expect(small.count <= full.count - 50)
        #expect(throws: InstructionError.self) {
            try e.promptTokens(template: ChatTemplate(family: .chatML), tokenizer: tokenizer, budget: 20)
        }
    }

    @Test func replacementTakesTheSelectionsIndentation() {
        // A method selected from its line's start, answered at the left margin.
        let method = edit("class A:\n", "    def f(self):\n        pass\n")
        #expect(method.replacement(from: "def f(self):\n    try:\n        pass\n    except Exception:\n        raise\n")
                == "    def f(self):\n        try:\n            pass\n        except Exception:\n            raise\n")
        // Selected after the indentation: the first line gets none.
        let inner = edit("def f():\n    ", "return 1")
        #expect(inner.replacement(from: "return 1  # one\n") == "return 1  # one")
        #expect(inner.replacement(from: "x = 1\nreturn x") == "x = 1\n    return x")
        // Mid-line: later lines get the line's indentation.
        let mid = edit("    y = ", "g(1)\n")
        #expect(mid.replacement(from: "(\n    g(1)\n)") == "(\n        g(1)\n    )\n")
    }

    @Test func replacementStopsAtAFenceAndRefusesNothing() {
        let e = edit("", "x = 1\n")
        #expect(e.replacement(from: "x = 2\n```\nThis sets x.") == "x = 2\n")
        #expect(e.replacement(from: "\n\n  \n") == nil)
        #expect(e.replacement(from: "```") == nil)
        #expect(e.replacement(from: "x = 3\r\n") == "x = 3\n")
    }

    @Test func instructRunsOnAChatModelAndNotOnAStudent() throws {
        let chat = CompletionPipeline(model: try LlamaModel(path: Fixtures.chatLettersModelPath), threads: 1, promptTokens: 512)
        let e = edit("", "x = 1\n")
        let outcome = try chat.instruct(e, maxNewTokens: 12)
        #expect(outcome.generatedTokens == 12)
        #expect(outcome.stopReason == .maxTokens)
        #expect(outcome.replacement.map { $0.hasSuffix("\n") && $0.dropLast().allSatisfy(\.isLetter) } == true)
        let cancelled = try chat.instruct(e, maxNewTokens: 12) { $0 >= 3 }
        #expect(cancelled.stopReason == .cancelled && cancelled.replacement == nil)

        let student = CompletionPipeline(model: Fixtures.lettersModel, threads: 1, promptTokens: 128)
        #expect(throws: InstructionError.template(.noTemplate)) { try student.instruct(e) }
    }

    @Test func draftingLeavesTheInstructAnswerUnchanged() throws {
        let model = try LlamaModel(path: Fixtures.chatLettersModelPath)
        let plain = CompletionPipeline(model: model, threads: 1, promptTokens: 512)
        // The model as its own draft model, and prompt lookup: whatever they propose, the answer is the model's.
        let drafting = try CompletionPipeline(model: model, threads: 1, promptTokens: 512,
                                              speculation: SpeculationSettings(promptLookup: true), draftModel: model)
        let e = edit("", "abcabc = abcabc + abcabc\n")
        let alone = try plain.instruct(e, maxNewTokens: 24)
        let drafted = try drafting.instruct(e, maxNewTokens: 24)
        #expect(drafted.answer == alone.answer && drafted.generatedTokens == alone.generatedTokens)
        #expect(drafted.drafting.total.drafted > 0 && alone.drafting.total.drafted == 0)
    }
}
