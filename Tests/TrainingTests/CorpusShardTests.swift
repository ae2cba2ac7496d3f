import Foundation
import Model
import Testing
@testable import Training

struct CorpusShardTests {
    static let documents = ["let a = 1\n", "func f() {\n    return 2\n}\n", "x", "print(\"é\")\n"]

    static func writeShard(vocabularySize: Int? = nil) throws -> (String, BPETokenizer) {
        let tokenizer = try EvalFixtures.tokenizer()
        var writer = TokenShardWriter(vocabularySize: vocabularySize ?? tokenizer.vocabularySize, endOfText: 0)
        for doc in documents { try writer.append(text: Array(doc.utf8), tokens: tokenizer.encode(doc)) }
        let path = EvalFixtures.temporaryDirectory() + "/t.shard"
        try writer.write(to: path)
        return (path, tokenizer)
    }

    @Test func roundTripAndExactHeader() throws {
        let (path, tokenizer) = try Self.writeShard()
        let bytes = [UInt8](FileManager.default.contents(atPath: path)!)
        #expect(Array(bytes[0..<8]) == Array("USTSHARD".utf8))
        #expect(Array(bytes[8..<24]) == [1, 0, 0, 0, 2, 0, 0, 0, UInt8(tokenizer.vocabularySize & 255), UInt8(tokenizer.vocabularySize >> 8), 0, 0, 0, 0, 0, 0])
        let shard = try TokenShard(path: path)
        #expect(shard.documentCount == 4)
        #expect(shard.tokenWidth == 2)
        #expect(shard.endOfText == 0)
        var flat: [Int32] = []
        for (i, doc) in Self.documents.enumerated() {
            let ids = tokenizer.encode(doc) + [0]
            #expect(shard.tokens(ofDocument: i) == ids)
            #expect(shard.text(ofDocument: i) == Array(doc.utf8))
            for t in flat.count..<(flat.count + ids.count) { #expect(shard.document(containing: t) == i) }
            flat += ids
        }
        #expect(shard.tokens(0..<shard.tokenCount) == flat)
        #expect(shard.textByteCount == Self.documents.reduce(0) { $0 + $1.utf8.count })
        let documents = 4, padded = (flat.count * 2 + 7) / 8 * 8
        #expect(bytes.count == 48 + 16 * (documents + 1) + padded + shard.textByteCount)
    }

    @Test func wideVocabulariesUseFourByteTokens() throws {
        var writer = TokenShardWriter(vocabularySize: 70_000, endOfText: 69_999)
        try writer.append(text: Array("ab".utf8), tokens: [65_536, 3])
        let path = EvalFixtures.temporaryDirectory() + "/w.shard"
        try writer.write(to: path)
        let shard = try TokenShard(path: path)
        #expect(shard.tokenWidth == 4)
        #expect(shard.tokens(ofDocument: 0) == [65_536, 3, 69_999])
        #expect(throws: CorpusError.tokenOutOfRange(token: 70_000, vocabularySize: 70_000)) {
            try writer.append(text: [], tokens: [70_000])
        }
    }

    @Test func damagedShardsAreRejectedWithReasons() throws {
        let (path, _) = try Self.writeShard()
        var bytes = [UInt8](FileManager.default.contents(atPath: path)!)
        let truncated = path + ".cut"
        FileManager.default.createFile(atPath: truncated, contents: Data(bytes.dropLast(3)))
        #expect(throws: CorpusError.shardTruncated(path: truncated, needed: bytes.count, size: bytes.count - 3)) {
            try TokenShard(path: truncated)
        }
        bytes[0] = 0x58
        FileManager.default.createFile(atPath: path, contents: Data(bytes))
        #expect(throws: CorpusError.shardMagic(path: path, found: Array("XSTSHARD".utf8))) { try TokenShard(path: path) }
        bytes[0] = 0x55
        bytes[8] = 9
        FileManager.default.createFile(atPath: path, contents: Data(bytes))
        #expect(throws: CorpusError.shardVersion(path: path, found: 9, expected: 1)) { try TokenShard(path: path) }
    }

    @Test func loaderIsReproducibleAndResumable() throws {
        let (path, tokenizer) = try Self.writeShard()
        let shard = try TokenShard(path: path)
        var a = try WindowLoader(shards: [shard], tokenizer: tokenizer, length: 9, seed: 11)
        var b = try WindowLoader(shards: [shard], tokenizer: tokenizer, length: 9, seed: 11)
        let first = a.nextBatch(20)
        #expect(first.count == 180)
        #expect(first == b.nextBatch(20))
        var other = try WindowLoader(shards: [shard], tokenizer: tokenizer, length: 9, seed: 12)
        #expect(other.nextBatch(20) != first)
        // Resuming at position 7 gives windows 7, 8, … exactly.
        var resumed = try WindowLoader(shards: [shard], tokenizer: tokenizer, length: 9, seed: 11, position: 7)
        #expect(resumed.next() == Array(first[63..<72]))
        #expect(resumed.position == 8)
        // Some windows hold FIM examples, some do not.
        let all = (0..<200).map { a.window(at: $0) }
        #expect(all.contains { $0.contains(1) } && all.contains { !$0.contains(1) && !$0.contains(2) })
    }

    /// Context-level FIM: a window's FIM example holds its prefix, suffix and middle together, and the
    /// pieces put back in order are a stretch of one document's text.
    @Test func fimExamplesFitInsideTheWindow() throws {
        let (path, tokenizer) = try Self.writeShard()
        let shard = try TokenShard(path: path)
        let texts = (0..<shard.documentCount).map { shard.text(ofDocument: $0) }
        let loader = try WindowLoader(shards: [shard], tokenizer: tokenizer, length: 40, seed: 5, fimRate: 1, spmRate: 0)
        var checked = 0
        for i in 0..<100 {
            let window = loader.window(at: i)
            #expect(window.count == 40)
            guard let (prefix, middle, suffix) = Self.firstPSMExample(in: window, tokenizer: tokenizer) else { continue }
            let span = prefix + middle + suffix
            #expect(Self.isStretch(span, ofOneOf: texts))
            checked += 1
        }
        #expect(checked > 10)
    }

    /// The text of the window's first PSM example, when the window starts with one that ends inside it
    /// (end-of-text after the middle).
    static func firstPSMExample(in window: [Int32], tokenizer: BPETokenizer) -> (prefix: [UInt8], middle: [UInt8], suffix: [UInt8])? {
        guard window.first == 1, let suf = window.firstIndex(of: 3), let mid = window.firstIndex(of: 2),
              let eot = window[mid...].firstIndex(of: 0) else { return nil }
        return (tokenizer.decode(Array(window[1..<suf])), tokenizer.decode(Array(window[(mid + 1)..<eot])),
                tokenizer.decode(Array(window[(suf + 1)..<mid])))
    }

    static func isStretch(_ span: [UInt8], ofOneOf texts: [[UInt8]]) -> Bool {
        texts.contains { text in
            text.count >= span.count && (0...(text.count - span.count)).contains { Array(text[$0..<($0 + span.count)]) == span }
        }
    }

    @Test func withoutFIMWindowsAreSlicesOfTheWrappedStream() throws {
        let (path, _) = try Self.writeShard()
        let shard = try TokenShard(path: path)
        let stream = shard.tokens(0..<shard.tokenCount)
        let wrapped = stream + stream + stream
        let loader = try WindowLoader(shards: [shard, shard], tokenizer: nil, length: 12, seed: 1, fimRate: 0)
        var starts = Set<Int>()
        for i in 0..<100 {
            let window = loader.window(at: i)
            let start = (0..<stream.count).first { Array(wrapped[$0..<($0 + 12)]) == window }
            #expect(start != nil)
            if let start { starts.insert(start) }
        }
        #expect(starts.count > stream.count / 2)   // starts are spread over the stream
    }
}
