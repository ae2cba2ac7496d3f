import Foundation

/// Line-completion scores of one completer (the model or a baseline).
public struct CompletionScores: Codable, Sendable, Equatable {
    public var exactMatch: Double
    public var editSimilarity: Double
    /// Milliseconds per completion, prompt building included (nil for baselines, which are instant).
    public var latencyP50Ms: Double?
    public var latencyP95Ms: Double?
}

/// Everything `understudy eval` reports, printed as a table or as one JSON object.
public struct EvaluationReport: Codable, Sendable, Equatable {
    public var model: String
    public var modelFile: String
    public var parameters: Int
    public var fileBytes: Int
    public var language: String
    public var data: String
    public var files: Int
    /// UTF-8 bytes and tokens scored for bits per byte.
    public var bytes: Int
    public var tokens: Int
    public var bitsPerByte: Double
    public var samples: Int
    public var seed: UInt64
    public var promptTokens: Int
    public var completion: CompletionScores
    public var noModel: CompletionScores
    public var frequentContinuation: CompletionScores
    public var seconds: Double
    /// Tokens per bits-per-byte window and new tokens scored per window after the first (absent in
    /// reports written before they were recorded).
    public var bpbWindow: Int?
    public var bpbStride: Int?

    /// One JSON object, keys sorted.
    public var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }

    /// A table for people.
    public var table: String {
        func pct(_ x: Double) -> String { String(format: "%6.2f%%", x * 100) }
        func row(_ name: String, _ s: CompletionScores) -> String {
            let latency = s.latencyP50Ms.map { String(format: "%8.1f / %-8.1f", $0, s.latencyP95Ms ?? 0) } ?? "       –          "
            return name.padding(toLength: 24, withPad: " ", startingAt: 0) + "  \(pct(s.exactMatch))  \(pct(s.editSimilarity))  \(latency)"
        }
        var lines = [
            "model      \(model) (\(modelFile))",
            "size       \(parameters) parameters, \(fileBytes) bytes",
            "data       \(data): \(files) \(language) files, \(bytes) bytes, \(tokens) tokens",
            String(format: "bpb        %.4f", bitsPerByte) + (bpbWindow.map { " (\($0)-token windows, stride \(bpbStride ?? 0))" } ?? ""),
            "lines      \(samples) positions, seed \(seed), prompts ≤ \(promptTokens) tokens",
            "",
            "completer                     EM        ES    latency ms p50 / p95",
            row("model", completion),
            row("no model (empty)", noModel),
            row("frequent continuation", frequentContinuation),
            String(format: "\n%.1f s", seconds),
        ]
        if samples == 0 { lines.insert("(no non-blank lines found: completion scores are empty)", at: 5) }
        return lines.joined(separator: "\n")
    }
}
