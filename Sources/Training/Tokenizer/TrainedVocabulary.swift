import Model

/// A learned byte-level BPE vocabulary in GGUF's shape: specials first, then the 256 byte tokens, then merges.
public typealias TrainedVocabulary = TokenizerMetadata

extension TokenizerMetadata {
    /// A tokenizer.json that Hugging Face `tokenizers` loads and that encodes identically.
    ///
    /// The pre-tokenizer is HF's ByteLevel (GPT-2 regex, no prefix space), preceded for the
    /// StarCoder family by Digits(individual_digits). Control tokens become special added tokens,
    /// so HF (unlike our `encode`) will recognise their texts inside input.
    public func huggingFaceJSON() -> String {
        var json = "{\n  \"version\": \"1.0\",\n  \"truncation\": null,\n  \"padding\": null,\n  \"added_tokens\": ["
        var first = true
        for (id, type) in tokenTypes.enumerated() where type == TokenType.control.rawValue {
            json += first ? "\n" : ",\n"
            first = false
            json += "    {\"id\": \(id), \"content\": \(Self.quoted(tokens[id])), \"single_word\": false, "
                + "\"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true}"
        }
        json += "\n  ],\n  \"normalizer\": null,\n"
        let byteLevel = "{\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"trim_offsets\": true, \"use_regex\": true}"
        let splitsDigits = (try? PreTokenizer(name: preTokenizer))?.splitsDigits ?? false
        if splitsDigits {
            json += "  \"pre_tokenizer\": {\"type\": \"Sequence\", \"pretokenizers\": [\n"
                + "    {\"type\": \"Digits\", \"individual_digits\": true},\n    \(byteLevel)\n  ]},\n"
        } else {
            json += "  \"pre_tokenizer\": \(byteLevel),\n"
        }
        json += "  \"post_processor\": null,\n"
        json += "  \"decoder\": {\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"trim_offsets\": true, \"use_regex\": true},\n"
        json += "  \"model\": {\"type\": \"BPE\", \"dropout\": null, \"unk_token\": null, "
            + "\"continuing_subword_prefix\": null, \"end_of_word_suffix\": null, \"fuse_unk\": false, "
            + "\"byte_fallback\": false,\n    \"vocab\": {"
        for (id, text) in tokens.enumerated() {
            json += (id == 0 ? "\n      " : ",\n      ") + Self.quoted(text) + ": \(id)"
        }
        json += "\n    },\n    \"merges\": ["
        for (rank, merge) in merges.enumerated() {
            json += (rank == 0 ? "\n      " : ",\n      ") + Self.quoted(merge)
        }
        json += "\n    ]\n  }\n}\n"
        return json
    }

    /// A JSON string literal; only quote, backslash and C0 controls need escaping.
    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
