import Testing

@testable import LanguageServer

extension LanguageServerModuleTests {
    @Suite struct TypingCacheTests {
        let prefix = Array("let total = ".utf8)
        let suffix = Array("\nprint(total)".utf8)

        @Test func typingAlongReturnsTheRest() {
            var cache = TypingCache()
            cache.store(uri: "f", prefix: prefix, suffix: suffix, candidates: ["price * count", "sum(values)"], multiLine: false)
            #expect(cache.lookup(uri: "f", prefix: prefix, suffix: suffix)?.candidates == ["price * count", "sum(values)"])
            #expect(cache.lookup(uri: "f", prefix: prefix + Array("pri".utf8), suffix: suffix)?.candidates == ["ce * count"])
            #expect(cache.lookup(uri: "f", prefix: prefix + Array("s".utf8), suffix: suffix)?.candidates == ["um(values)"])
            // Typed past the end, typed something else, another document or another suffix: miss.
            #expect(cache.lookup(uri: "f", prefix: prefix + Array("price * count".utf8), suffix: suffix)?.candidates == nil)
            #expect(cache.lookup(uri: "f", prefix: prefix + Array("q".utf8), suffix: suffix)?.candidates == nil)
            #expect(cache.lookup(uri: "g", prefix: prefix, suffix: suffix)?.candidates == nil)
            #expect(cache.lookup(uri: "f", prefix: prefix, suffix: suffix + [0x20])?.candidates == nil)
        }

        @Test func deletingPutsTheCharactersBack() {
            var cache = TypingCache()
            cache.store(uri: "f", prefix: prefix + Array("pr".utf8), suffix: suffix, candidates: ["ice"], multiLine: false)
            #expect(cache.lookup(uri: "f", prefix: prefix + Array("p".utf8), suffix: suffix)?.candidates == ["rice"])
            #expect(cache.lookup(uri: "f", prefix: Array("let".utf8), suffix: suffix)?.candidates == [" total = price"])
        }

        @Test func neverSplitsACharacter() {
            var cache = TypingCache()
            cache.store(uri: "f", prefix: prefix, suffix: suffix, candidates: ["é!"], multiLine: false)
            #expect(cache.lookup(uri: "f", prefix: prefix + [0xC3], suffix: suffix)?.candidates == nil)
            #expect(cache.lookup(uri: "f", prefix: prefix + Array("é".utf8), suffix: suffix)?.candidates == ["!"])
        }

        @Test func capacityDropsTheOldest() {
            var cache = TypingCache(capacity: 2)
            for i in 0..<3 { cache.store(uri: "f\(i)", prefix: prefix, suffix: suffix, candidates: ["x"], multiLine: false) }
            #expect(cache.lookup(uri: "f0", prefix: prefix, suffix: suffix)?.candidates == nil)
            #expect(cache.lookup(uri: "f2", prefix: prefix, suffix: suffix)?.candidates == ["x"])
        }

        @Test func theModelsAnswerReplacesTheDraftModelsNeverTheOtherWay() {
            var cache = TypingCache()
            cache.store(uri: "f", prefix: prefix, suffix: suffix, candidates: ["prize"], multiLine: false, fromDraft: true)
            #expect(cache.lookup(uri: "f", prefix: prefix, suffix: suffix) == TypingCache.Hit(candidates: ["prize"], fromDraft: true))
            #expect(cache.lookup(uri: "f", prefix: prefix, suffix: suffix, modelOnly: true) == nil)
            cache.store(uri: "f", prefix: prefix, suffix: suffix, candidates: ["price * count"], multiLine: false)
            cache.store(uri: "f", prefix: prefix, suffix: suffix, candidates: ["prize"], multiLine: false, fromDraft: true)
            #expect(cache.lookup(uri: "f", prefix: prefix + Array("pri".utf8), suffix: suffix, modelOnly: true)
                        == TypingCache.Hit(candidates: ["ce * count"], fromDraft: false))
            #expect(cache.lookup(uri: "f", prefix: prefix, suffix: suffix)?.fromDraft == false)
        }
    }
}
