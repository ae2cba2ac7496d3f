import ArgumentParser
import Foundation
import Model

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure prompt processing and generation speed, like llama.cpp's llama-bench.",
        discussion: """
            pp<N> evaluates N tokens in one batch from an empty cache; tg<N> generates N tokens one at a \
            time from an empty cache. Each test runs once to warm up, then --repetitions times; the table \
            shows mean ± standard deviation of tokens per second. Build with -c release.
            """)

    @OptionGroup var modelOptions: ModelOptions

    @Option(name: [.customShort("p"), .long], help: "Prompt tokens for the prompt-processing test (0 skips it).")
    var promptTokens = 512

    @Option(name: [.customShort("n"), .long], help: "Tokens for the generation test (0 skips it).")
    var generateTokens = 128

    @Option(name: [.customShort("r"), .long], help: "Timed repetitions of each test.")
    var repetitions = 5

    @Flag(help: "Print the table as JSON lines instead.")
    var json = false

    func validate() throws {
        guard (0...65536).contains(promptTokens) else { throw ValidationError("-p must be in 0...65536") }
        guard (0...65536).contains(generateTokens) else { throw ValidationError("-n must be in 0...65536") }
        guard (1...1000).contains(repetitions) else { throw ValidationError("-r must be in 1...1000") }
    }

    func run() throws {
        let model = try modelOptions.load()
        let c = model.config
        let needed = max(promptTokens, generateTokens)
        let context = InferenceContext(model: model, contextSize: max(needed, 1), threads: modelOptions.threadCount)
        var rng = SplitMix64(seed: 42)
        func randomTokens(_ n: Int) -> [Int32] { (0..<n).map { _ in Int32(rng.next() % UInt64(c.vocabularySize)) } }

        var rows: [(test: String, rates: [Double])] = []
        if promptTokens > 0 {
            let tokens = randomTokens(promptTokens)
            let rates = try measure {
                context.reset()
                try context.append(tokens)
                return promptTokens
            }
            rows.append(("pp\(promptTokens)", rates))
        }
        if generateTokens > 0 {
            let tokens = randomTokens(generateTokens)
            let rates = try measure {
                context.reset()
                for t in tokens { try context.append([t]) }
                return generateTokens
            }
            rows.append(("tg\(generateTokens)", rates))
        }
        report(model: model, rows: rows)
    }

    /// Tokens per second of `body` (which returns how many tokens it processed), after one warm-up run.
    private func measure(_ body: () throws -> Int) throws -> [Double] {
        _ = try body()
        let clock = ContinuousClock()
        return try (0..<repetitions).map { _ in
            let start = clock.now
            let n = try body()
            let elapsed = clock.now - start
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            return Double(n) / seconds
        }
    }

    private func report(model: LlamaModel, rows: [(test: String, rates: [Double])]) {
        let size = formatBytes(model.file.fileSize)
        let params = formatCount(model.parameterCount)
        let threads = modelOptions.threadCount
        if json {
            for row in rows {
                let (mean, sd) = meanAndDeviation(row.rates)
                print("{\"model\":\"\(model.name)\",\"type\":\"\(model.weightTypeLabel)\",\"size\":\(model.file.fileSize),"
                      + "\"params\":\(model.parameterCount),\"threads\":\(threads),\"test\":\"\(row.test)\","
                      + "\"t_s\":\(String(format: "%.2f", mean)),\"stddev\":\(String(format: "%.2f", sd))}")
            }
            return
        }
        let header = ["model", "size", "params", "backend", "threads", "test", "t/s"]
        var table = [header]
        for row in rows {
            let (mean, sd) = meanAndDeviation(row.rates)
            table.append(["\(model.config.architecture.rawValue) \(model.weightTypeLabel)", size, params, "SIMD+BLAS", "\(threads)", row.test,
                          String(format: "%.2f ± %.2f", mean, sd)])
        }
        let widths = header.indices.map { col in table.map { $0[col].count }.max()! }
        for (i, cells) in table.enumerated() {
            let padded = cells.enumerated().map { col, cell in
                let pad = String(repeating: " ", count: widths[col] - cell.count)
                return col >= 1 ? pad + cell : cell + pad
            }
            print("| " + padded.joined(separator: " | ") + " |")
            if i == 0 {
                print("| " + widths.enumerated().map { col, w in
                    col >= 1 ? String(repeating: "-", count: w - 1) + ":" : String(repeating: "-", count: w)
                }.joined(separator: " | ") + " |")
            }
        }
    }
}

func meanAndDeviation(_ values: [Double]) -> (Double, Double) {
    let mean = values.reduce(0, +) / Double(values.count)
    guard values.count > 1 else { return (mean, 0) }
    let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count - 1)
    return (mean, variance.squareRoot())
}
