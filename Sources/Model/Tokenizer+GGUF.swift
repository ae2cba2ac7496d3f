extension BPETokenizer {
    /// Builds the tokenizer a GGUF file describes (`tokenizer.ggml.*`, model "gpt2").
    public convenience init(gguf file: GGUFFile) throws {
        let m = try TokenizerMetadata(gguf: file)
        try self.init(tokens: m.tokens, merges: m.merges, tokenTypes: m.tokenTypes, preTokenizer: m.preTokenizer,
                      specials: m.specials)
    }
}
