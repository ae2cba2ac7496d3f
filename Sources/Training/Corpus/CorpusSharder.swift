import Foundation
import Model

/// Tokenizes a corpus directory's `train/` and `dev/` trees into one shard per split and language.
public struct CorpusSharder {
    public let tokenizer: BPETokenizer
    public let threads: Int

    /// One written shard and what it holds.
    public struct Result: Sendable, Equatable {
        public var path: String
        public var documents: Int
        public var tokens: Int
        public var bytes: Int
    }

    public init(tokenizer: BPETokenizer, threads: Int) {
        self.tokenizer = tokenizer
        self.threads = max(1, threads)
    }

    /// Writes `<corpus>/shards/<split>-<language>.shard` for every split and language that has files.
    public func shard(corpus: String, progress: (String) -> Void = { _ in }) throws -> [Result] {
        guard let eot = tokenizer.specials.endOfText else { throw CorpusError.missingSpecialToken("<|endoftext|>") }
        let directory = corpus + "/shards"
        do { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) } catch {
            throw CorpusError.unwritable(path: directory, detail: "\(error)")
        }
        var results: [Result] = []
        for split in [CorpusSplit.train, .dev] {
            for language in SourceLanguage.allCases {
                let root = "\(corpus)/\(split.rawValue)/\(language.rawValue)"
                guard FileManager.default.fileExists(atPath: root) else { continue }
                let paths = try CorpusBuilder.sourceFiles(under: root, language: language).map { root + "/" + $0 }
                guard !paths.isEmpty else { continue }
                let texts = try paths.map(CorpusBuilder.read)
                let started = Date()
                let tokens = encodeAll(texts)
                var writer = TokenShardWriter(vocabularySize: tokenizer.vocabularySize, endOfText: eot)
                for (text, ids) in zip(texts, tokens) { try writer.append(text: text, tokens: ids) }
                let path = "\(directory)/\(split.rawValue)-\(language.rawValue).shard"
                try writer.write(to: path)
                let bytes = texts.reduce(0) { $0 + $1.count }
                let seconds = Date().timeIntervalSince(started)
                progress("\(path): \(paths.count) files, \(bytes) bytes → \(writer.tokenCount) tokens "
                         + String(format: "(%.2f bytes/token, %.1f MB/s)", Double(bytes) / Double(max(1, writer.tokenCount)),
                                  Double(bytes) / 1e6 / max(seconds, 1e-9)))
                results.append(Result(path: path, documents: writer.documentCount, tokens: writer.tokenCount, bytes: bytes))
            }
        }
        return results
    }

    /// Tokenizes texts on `threads` workers; each worker takes every threads-th text.
    func encodeAll(_ texts: [[UInt8]]) -> [[Int32]] {
        let output = EncodedTexts(count: texts.count)
        let tokenizer = self.tokenizer, workers = min(threads, max(1, texts.count))
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            for i in stride(from: worker, to: texts.count, by: workers) {
                output.set(i, tokenizer.encode(bytes: texts[i]))
            }
        }
        return output.values
    }
}

/// Slots each worker fills at its own indices; no two workers write the same slot.
private final class EncodedTexts: @unchecked Sendable {
    private(set) var values: [[Int32]]
    private let lock = NSLock()
    init(count: Int) { values = Array(repeating: [], count: count) }
    func set(_ i: Int, _ tokens: [Int32]) {
        lock.lock()
        values[i] = tokens
        lock.unlock()
    }
}
