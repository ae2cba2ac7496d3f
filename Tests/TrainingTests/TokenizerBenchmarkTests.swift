import Foundation
import Model
import Testing
import Training

/// Measures trainer and encoder speed on a real source tree; runs only when asked.
///
///     UNDERSTUDY_TOKENIZER_BENCH=/path/to/python3.11 [UNDERSTUDY_TOKENIZER_OUT=/tmp/tok] \
///         [UNDERSTUDY_TOKENIZER_EXTRA=/tmp/fuzz] \
///         swift test -c release -Xswiftc -enable-testing --filter TokenizerBenchmarkTests
///
/// With UNDERSTUDY_TOKENIZER_OUT set it also writes tokenizer.json, vocabulary.json (GGUF arrays) and
/// samples.json (file paths with our ids) for scripts/check-hf-tokenizer.py. Every file under
/// UNDERSTUDY_TOKENIZER_EXTRA is encoded into samples.json too, without being trained on.
struct TokenizerBenchmarkTests {
    static let sourceRoot = ProcessInfo.processInfo.environment["UNDERSTUDY_TOKENIZER_BENCH"]
    static let outputDirectory = ProcessInfo.processInfo.environment["UNDERSTUDY_TOKENIZER_OUT"]
    static let extraDirectory = ProcessInfo.processInfo.environment["UNDERSTUDY_TOKENIZER_EXTRA"]

    @Test(.enabled(if: sourceRoot != nil))
    func trainAndEncodeSourceTree() throws {
        let files = try Self.sourceFiles(under: Self.sourceRoot!)
        let documents = try files.map { try Array(Data(contentsOf: URL(fileURLWithPath: $0))) }
        let totalBytes = documents.reduce(0) { $0 + $1.count }
        let megabytes = Double(totalBytes) / 1_000_000

        var trainer = try BPETrainer(vocabularySize: 8192, preTokenizer: "starcoder")
        let clock = ContinuousClock()
        let counting = clock.measure { for document in documents { trainer.add(document) } }
        var vocabulary: TrainedVocabulary?
        let training = clock.measure { vocabulary = trainer.train() }
        let tokenizer = try vocabulary!.makeTokenizer()

        var tokenCount = 0
        var encoded: [[Int32]] = []
        let encoding = clock.measure {
            for document in documents {
                let ids = tokenizer.encode(bytes: document)
                tokenCount += ids.count
                encoded.append(ids)
            }
        }
        for (document, ids) in zip(documents, encoded) { #expect(tokenizer.decode(ids) == document) }
        // Keystroke-sized requests: 4 KB windows, the language server's typical load.
        let window = documents.max { $0.count < $1.count }!.prefix(4096)
        let windowBytes = Array(window)
        let windowTime = clock.measure { for _ in 0..<200 { _ = tokenizer.encode(bytes: windowBytes) } }

        func seconds(_ duration: Duration) -> Double {
            Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        }
        print("""
            tokenizer bench: \(files.count) files, \(String(format: "%.1f", megabytes)) MB, \
            \(trainer.distinctPreTokens) distinct pre-tokens
              count pre-tokens: \(String(format: "%.2f", seconds(counting))) s
              train 8192 vocab (\(vocabulary!.merges.count) merges): \(String(format: "%.2f", seconds(training))) s
              encode: \(String(format: "%.2f", seconds(encoding))) s = \
            \(String(format: "%.1f", megabytes / seconds(encoding))) MB/s, \
            \(String(format: "%.2f", Double(totalBytes) / Double(tokenCount))) bytes/token
              4 KB window: \(String(format: "%.3f", seconds(windowTime) / 200 * 1000)) ms per encode
            """)

        if let output = Self.outputDirectory {
            try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
            try vocabulary!.huggingFaceJSON().write(toFile: output + "/tokenizer.json", atomically: true, encoding: .utf8)
            let arrays: [String: Any] = ["tokens": vocabulary!.tokens, "merges": vocabulary!.merges,
                                         "token_types": vocabulary!.tokenTypes.map(Int.init),
                                         "pre": vocabulary!.preTokenizer]
            try JSONSerialization.data(withJSONObject: arrays).write(to: URL(fileURLWithPath: output + "/vocabulary.json"))
            var samples = zip(files, encoded).map { ["path": $0, "ids": $1.map(Int.init)] as [String: Any] }
            for path in try Self.sourceFiles(under: Self.extraDirectory ?? "/nonexistent", suffix: "") {
                let ids = tokenizer.encode(bytes: try Array(Data(contentsOf: URL(fileURLWithPath: path))))
                samples.append(["path": path, "ids": ids.map(Int.init)])
            }
            try JSONSerialization.data(withJSONObject: samples).write(to: URL(fileURLWithPath: output + "/samples.json"))
        }
    }

    /// Every file ending in `suffix` under `root`, skipping installed packages, in a stable order.
    static func sourceFiles(under root: String, suffix: String = ".py") throws -> [String] {
        guard let enumerator = FileManager.default.enumerator(atPath: root) else { return [] }
        var files: [String] = []
        while let relative = enumerator.nextObject() as? String {
            var isDirectory: ObjCBool = false
            let path = root + "/" + relative
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else { continue }
            if relative.hasSuffix(suffix) && !relative.contains("site-packages") { files.append(path) }
        }
        return files.sorted()
    }
}
