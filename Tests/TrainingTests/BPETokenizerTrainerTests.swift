import Foundation
import Model
import Testing
@testable import Training

struct BPETokenizerTrainerTests {
    @Test func firstMergesFollowPairFrequency() throws {
        var trainer = try BPETrainer(vocabularySize: 5 + 256 + 3, preTokenizer: "starcoder")
        trainer.add(Array("low low low lower newest newest".utf8))
        let vocabulary = trainer.train()
        // (l,o) and (o,w) both occur 4 times: the smaller pair (by id) wins; then "lo w" (4), then "Ġ low" (3).
        #expect(vocabulary.merges == ["l o", "lo w", "Ġ low"])
        #expect(Array(vocabulary.tokens.suffix(3)) == ["lo", "low", "Ġlow"])
        let tokenizer = try vocabulary.makeTokenizer()
        let ids = tokenizer.encode(" lower")
        #expect(ids == [263, Int32(5 + 0x65), Int32(5 + 0x72)])
    }

    @Test func layoutIsSpecialsThenBytesThenMerges() throws {
        var trainer = try BPETrainer(vocabularySize: 300, preTokenizer: "starcoder")
        trainer.add(Array("aaaa bbbb aaaa".utf8))
        let vocabulary = trainer.train()
        #expect(Array(vocabulary.tokens.prefix(5)) == ["<|endoftext|>", "<fim_prefix>", "<fim_middle>", "<fim_suffix>", "<fim_pad>"])
        #expect(Array(vocabulary.tokenTypes.prefix(5)) == [3, 3, 3, 3, 3])
        for byte in 0..<256 {
            #expect(vocabulary.tokens[5 + byte] == String(ByteLevelAlphabet.scalars[byte]))
            #expect(vocabulary.tokenTypes[5 + byte] == 1)
        }
        #expect(vocabulary.tokens.count == 261 + vocabulary.merges.count)
        #expect(vocabulary.specials == SpecialTokens(endOfText: 0, fimPrefix: 1, fimSuffix: 3, fimMiddle: 2, fimPad: 4))
        // The corpus runs out of pairs long before 300 tokens.
        #expect(vocabulary.merges.count < 300 - 261)
        #expect(try vocabulary.makeTokenizer().encode(" aaaa") == [Int32(vocabulary.tokens.firstIndex(of: "Ġaaaa")!)])
    }

    @Test func mergingOverlappingRunsCountsCorrectly() throws {
        // "aaa" holds (a,a) twice but only one can merge: the merge must leave "aa a", not "aa aa".
        var trainer = try BPETrainer(vocabularySize: 261 + 2, preTokenizer: "gpt-2")
        for _ in 0..<3 { trainer.add(Array("aaa".utf8)) }
        let vocabulary = trainer.train()
        #expect(vocabulary.merges == ["a a", "aa a"])
    }

    @Test func trainedTokenizerRoundTripsAndCompresses() throws {
        var trainer = try BPETrainer(vocabularySize: 411, preTokenizer: "starcoder")
        let documents = Self.sampleSources()
        for document in documents { trainer.add(Array(document.utf8)) }
        var reported: [(Int, Int)] = []
        let vocabulary = trainer.train { done, total in reported.append((done, total)) }
        #expect(vocabulary.merges.count == 150)
        #expect(reported.count == 150 && reported.last.map { $0 == (150, 150) } == true)
        let tokenizer = try vocabulary.makeTokenizer()
        for document in documents {
            let bytes = Array(document.utf8)
            let ids = tokenizer.encode(bytes: bytes)
            #expect(tokenizer.decode(ids) == bytes)
            #expect(ids.count * 2 < bytes.count)
        }
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<50 {
            let bytes = (0..<Int.random(in: 0...300, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            #expect(tokenizer.decode(tokenizer.encode(bytes: bytes)) == bytes)
        }
    }

    @Test func huggingFaceJSONIsWellFormed() throws {
        var trainer = try BPETrainer(vocabularySize: 400, preTokenizer: "starcoder")
        for document in Self.sampleSources() { trainer.add(Array(document.utf8)) }
        let vocabulary = trainer.train()
        let json = vocabulary.huggingFaceJSON()
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let model = try #require(object["model"] as? [String: Any])
        let vocab = try #require(model["vocab"] as? [String: Int])
        #expect(vocab.count == vocabulary.tokens.count)
        for (id, text) in vocabulary.tokens.enumerated() { #expect(vocab[text] == id) }
        #expect(model["merges"] as? [String] == vocabulary.merges)
        let added = try #require(object["added_tokens"] as? [[String: Any]])
        #expect(added.map { $0["content"] as? String } == Array(vocabulary.tokens.prefix(5)))
        let pre = try #require(object["pre_tokenizer"] as? [String: Any])
        let steps = try #require(pre["pretokenizers"] as? [[String: Any]])
        #expect(steps.map { $0["type"] as? String } == ["Digits", "ByteLevel"])
        #expect(TrainedVocabulary.quoted("a\"\\\n\u{1}é") == "\"a\\\"\\\\\\n\\u0001é\"")
    }

    @Test func unknownPreTokenizerIsRejected() {
        #expect(throws: TokenizerError.unknownPreTokenizer("bogus")) { try BPETrainer(vocabularySize: 300, preTokenizer: "bogus") }
    }

    static func sampleSources() -> [String] {
        [
            """
            import Foundation

            /// Greets people, politely.
            struct Greeter {
                let name: String
                func greet(times: Int) -> [String] {
                    (0..<times).map { index in "Hello, \\(name) #\\(index)!" }
                }
            }
            // Grüße aus Köln — 你好，世界 🎉
            let greeter = Greeter(name: "Ada")
            print(greeter.greet(times: 3))
            """,
            """
            def fibonacci(n: int) -> int:
                \"\"\"Return the n-th Fibonacci number.\"\"\"
                if n < 2:
                    return n
                a, b = 0, 1
                for _ in range(n - 1):
                    a, b = b, a + b
                return b


            class Cache(dict):
                def __missing__(self, key):
                    value = self[key] = fibonacci(key)
                    return value
            \r\n# café, naïve, résumé\r\nprint(Cache()[30])\r\n
            """,
        ]
    }
}
