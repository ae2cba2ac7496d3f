/// One turn of a chat.
public struct ChatMessage: Sendable, Equatable {
    public enum Role: String, Sendable {
        case system, user, assistant
    }

    public var role: Role
    public var content: String

    /// A message.
    public init(_ role: Role, _ content: String) {
        self.role = role
        self.content = content
    }
}

/// Why a model cannot be prompted with chat messages.
public enum ChatTemplateUnavailable: Error, Equatable, Sendable, CustomStringConvertible {
    /// The GGUF has no `tokenizer.chat_template` (our students, base models).
    case noTemplate
    /// The template is none of the families we format (we recognise them; we do not run Jinja).
    case unknownFamily(excerpt: String)
    /// The template names a marker token the vocabulary lacks.
    case missingToken(family: String, token: String)

    public var description: String {
        switch self {
        case .noTemplate:
            return "the model has no chat template (tokenizer.chat_template), so it cannot follow instructions; "
                + "serve an instruct model such as SmolLM2-135M-Instruct or Qwen2.5-Coder-0.5B-Instruct (scripts/fetch-teacher.sh)"
        case .unknownFamily(let excerpt):
            return "the model's chat template is not one Understudy formats (ChatML, Qwen2 or llama-3 style): \(excerpt)"
        case .missingToken(let family, let token):
            return "the model's chat template is \(family) style but its vocabulary has no \(token) token"
        }
    }
}

/// A piece of a formatted chat: plain text (tokenized) or a special token named by its text.
public enum ChatSegment: Sendable, Equatable {
    case text(String)
    case special(String)
}

/// The chat format of an instruct model, recognised from the markers in its GGUF's
/// `tokenizer.chat_template`. We do not interpret Jinja: each family's layout is written here in code,
/// as its template would render it with `add_generation_prompt`.
public struct ChatTemplate: Sendable, Equatable {
    /// The families we format.
    public enum Family: String, Sendable {
        /// `<|im_start|>role\n…<|im_end|>\n` (SmolLM2, many fine-tunes).
        case chatML = "ChatML"
        /// ChatML with Qwen's default system prompt (Qwen2, Qwen2.5, Qwen2.5-Coder).
        case qwen2 = "Qwen2"
        /// `<|start_header_id|>role<|end_header_id|>\n\n…<|eot_id|>` (Llama 3).
        case llama3 = "llama-3"
    }

    public var family: Family
    /// The system prompt the template writes when the messages have none (nil: none).
    public var defaultSystem: String?
    /// Whether a llama-3 prompt starts with `<|begin_of_text|>`.
    public var beginsWithBOS: Bool

    /// The GGUF key of the template.
    public static let metadataKey = "tokenizer.chat_template"

    /// A template of `family`.
    public init(family: Family, defaultSystem: String? = nil, beginsWithBOS: Bool = false) {
        self.family = family
        self.defaultSystem = defaultSystem
        self.beginsWithBOS = beginsWithBOS
    }

    /// Recognises the family of a template's text.
    public static func detect(_ template: String?) -> Result<ChatTemplate, ChatTemplateUnavailable> {
        guard let template, !template.allSatisfy(\.isWhitespace) else { return .failure(.noTemplate) }
        if template.contains("<|start_header_id|>") && template.contains("<|eot_id|>") {
            let bos = template.contains("bos_token") || template.contains("<|begin_of_text|>")
            return .success(ChatTemplate(family: .llama3, beginsWithBOS: bos))
        }
        if template.contains("<|im_start|>") && template.contains("<|im_end|>") {
            let system = defaultChatMLSystem(in: template)
            let qwen = system?.contains("Qwen") == true || template.contains("<tool_call>")
            return .success(ChatTemplate(family: qwen ? .qwen2 : .chatML, defaultSystem: system))
        }
        let flat = template.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        return .failure(.unknownFamily(excerpt: "\"" + String(flat.prefix(80)) + (flat.count > 80 ? "…\"" : "\"")))
    }

    /// The template of a GGUF file, checked against its vocabulary.
    public static func of(_ file: GGUFFile, tokenizer: BPETokenizer? = nil) -> Result<ChatTemplate, ChatTemplateUnavailable> {
        let detected = detect(file[metadataKey]?.string)
        guard case .success(let template) = detected else { return detected }
        let tokens = file["tokenizer.ggml.tokens"]?.strings ?? []
        let known: (String) -> Bool = { text in tokenizer.map { $0.id(ofTokenText: text) != nil } ?? tokens.contains(text) }
        for token in template.markerTokens where !known(token) {
            return .failure(.missingToken(family: template.family.rawValue, token: token))
        }
        return .success(template)
    }

    /// The special tokens the family's layout needs.
    public var markerTokens: [String] {
        switch family {
        case .chatML, .qwen2: return ["<|im_start|>", "<|im_end|>"]
        case .llama3: return ["<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"] + (beginsWithBOS ? ["<|begin_of_text|>"] : [])
        }
    }

    /// The token that ends a turn; generation stops there.
    public var endOfTurn: String {
        switch family {
        case .chatML, .qwen2: return "<|im_end|>"
        case .llama3: return "<|eot_id|>"
        }
    }

    /// The messages as the template lays them out, then the start of the assistant's turn and
    /// `assistantPrefix` (text the answer is made to begin with).
    public func segments(_ messages: [ChatMessage], assistantPrefix: String = "") -> [ChatSegment] {
        var messages = messages
        if messages.first?.role != .system, let defaultSystem { messages.insert(ChatMessage(.system, defaultSystem), at: 0) }
        var out: [ChatSegment] = []
        switch family {
        case .chatML, .qwen2:
            for message in messages {
                out += [.special("<|im_start|>"), .text(message.role.rawValue + "\n" + message.content), .special("<|im_end|>"), .text("\n")]
            }
            out += [.special("<|im_start|>"), .text("assistant\n" + assistantPrefix)]
        case .llama3:
            if beginsWithBOS { out.append(.special("<|begin_of_text|>")) }
            for message in messages {
                out += [.special("<|start_header_id|>"), .text(message.role.rawValue), .special("<|end_header_id|>"),
                        .text("\n\n" + message.content.trimmingWhitespace()), .special("<|eot_id|>")]
            }
            out += [.special("<|start_header_id|>"), .text("assistant"), .special("<|end_header_id|>"), .text("\n\n" + assistantPrefix)]
        }
        // Adjacent texts become one, so they are tokenized together.
        var merged: [ChatSegment] = []
        for segment in out {
            if case .text(let next) = segment, case .text(let previous)? = merged.last {
                merged[merged.count - 1] = .text(previous + next)
            } else {
                merged.append(segment)
            }
        }
        return merged
    }

    /// The prompt's token ids: texts through the tokenizer, markers by their ids.
    public func tokens(_ messages: [ChatMessage], assistantPrefix: String = "", tokenizer: BPETokenizer) throws(ChatTemplateUnavailable) -> [Int32] {
        var ids: [Int32] = []
        for segment in segments(messages, assistantPrefix: assistantPrefix) {
            switch segment {
            case .text(let text): ids += tokenizer.encode(text)
            case .special(let text):
                guard let id = tokenizer.id(ofTokenText: text) else {
                    throw .missingToken(family: family.rawValue, token: text)
                }
                ids.append(id)
            }
        }
        return ids
    }

    /// The literal system prompt a ChatML template writes when the messages have none:
    /// `'<|im_start|>system\n…<|im_end|>` with the newline written out or escaped.
    static func defaultChatMLSystem(in template: String) -> String? {
        for opener in ["<|im_start|>system\n", "<|im_start|>system\\n"] {
            var rest = Substring(template)
            while let start = rest.firstRange(of: opener) {
                let after = rest[start.upperBound...]
                guard let end = after.firstRange(of: "<|im_end|>") else { break }
                let body = after[..<end.lowerBound]
                // A literal, not an expression: `' + messages[0]['content'] + '` has quotes and braces.
                if !body.isEmpty && !body.contains(where: { "'\"{}+".contains($0) }) {
                    return String(body).replacing("\\n", with: "\n")
                }
                rest = after
            }
        }
        return nil
    }
}
