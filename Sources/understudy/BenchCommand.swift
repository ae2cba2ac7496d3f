import ArgumentParser
import Foundation
import Model
import Training

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure prompt processing and generation speed, like llama.cpp's llama-bench.",
        discussion: """
            pp<N> evaluates N tokens in one batch from an empty cache; tg<N> generates N tokens one at a \
            time from an empty cache. Each test runs once to warm up, then --repetitions times; the table \
            shows mean ± standard deviation of tokens per second. Build with -c release.

            With --data (and --draft FILE and/or --lookup): speculative decoding at completion positions of \
            real files instead, through the server's completion pipeline: single lines (--samples positions, \
            the rest of the line) and "Continue from here" (--continue-samples positions at line ends, up to \
            24 lines, as the code action asks). At each position the model runs alone, then with each kind of \
            draft configured (prompt lookup, the draft model, both); the table shows generated tokens per \
            second (prompt evaluation excluded), the speed-up, drafts per round, accepted tokens per round, \
            the acceptance rate, and texts that differ from the model's own (always 0: the output is exact).
            """)

    @OptionGroup var modelOptions: ModelOptions

    @Option(name: [.customShort("p"), .long], help: "Prompt tokens for the prompt-processing test (0 skips it).")
    var promptTokens = 512

    @Option(name: [.customShort("n"), .long], help: "Tokens for the generation test (0 skips it).")
    var generateTokens = 128

    @Option(help: "Verification passes to time (speculative decoding): vr<K> runs K tokens in one pass whose logits equal the single-token path's, after --verify-context cached tokens; tokens/s counts the K tokens. E.g. --verify 1,4,8,16.")
    var verify: String?

    @Option(help: "Cached tokens before each verification pass.")
    var verifyContext = 512

    @Option(name: [.customShort("r"), .long], help: "Timed repetitions of each test.")
    var repetitions = 5

    @Flag(help: "Print the table as JSON lines instead (with --data: one JSON object).")
    var json = false

    @OptionGroup(title: "Speculative decoding at completion positions") var draftOptions: DraftOptions

    @Option(help: "Directory of source files (e.g. a corpus's dev/): measure drafted generation there instead of pp/tg.")
    var data: String?

    @Option(help: "With --data: language of the files, swift or python.")
    var lang = "python"

    @Option(help: "With --data: single-line positions.")
    var samples = 200

    @Option(help: "With --data: \"Continue from here\" positions (default: --samples).")
    var continueSamples: Int?

    @Option(help: "With --data: seed for the positions.")
    var seed: UInt64 = 0

    @Option(help: "With --data: most tokens of surrounding code in a prompt.")
    var contextTokens = 1024

    @Option(help: "With --data: most tokens of a single line (\"Continue from here\" gets four times as many, at most 512).")
    var maxTokens = 48

    @Option(help: ArgumentHelp("With --data: write each position's prompt as JSON lines (task, prompt token ids, the bytes token healing took back, tokens the model generated alone, its text), for replaying the positions in another engine (scripts/llamacpp-lookup-bench.py).", valueName: "file"))
    var dumpPrompts: String?

    func validate() throws {
        guard (0...65536).contains(promptTokens) else { throw ValidationError("-p must be in 0...65536") }
        guard (0...65536).contains(generateTokens) else { throw ValidationError("-n must be in 0...65536") }
        guard (1...1000).contains(repetitions) else { throw ValidationError("-r must be in 1...1000") }
    }

    func run() throws {
        if let data { return try runSpeculative(data: data) }
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
        for k in (verify ?? "").split(separator: ",").compactMap({ Int($0) }) where k > 0 {
            let cached = randomTokens(verifyContext), checked = randomTokens(k)
            let verifying = InferenceContext(model: model, contextSize: verifyContext + k, threads: modelOptions.threadCount)
            try verifying.append(cached)
            let rates = try measure {
                verifying.truncate(to: verifyContext)
                _ = try verifying.appendReturningExactLogits(checked)
                return k
            }
            rows.append(("vr\(k)@\(verifyContext)", rates))
        }
        report(model: model, rows: rows)
    }

    /// The speculative benchmark (`SpeculativeBenchmark`) over `data`.
    private func runSpeculative(data: String) throws {
        guard let language = SourceLanguage(rawValue: lang) else { throw ValidationError("--lang must be swift or python, not \(lang)") }
        guard draftOptions.enabled else { throw ValidationError("--data measures drafts: give --draft FILE and/or --lookup") }
        let paths = try CorpusBuilder.sourceFiles(under: data, language: language)
        guard !paths.isEmpty else { throw EvaluationError.noFiles(directory: data, language: lang) }
        let files = try paths.map { path -> (path: String, contents: [UInt8]) in
            guard let contents = FileManager.default.contents(atPath: data + "/" + path) else { throw CLIError("cannot read \(data)/\(path)") }
            return (path, [UInt8](contents))
        }
        let model = try modelOptions.load()
        let pipeline = try draftOptions.pipeline(model: model, threads: modelOptions.threadCount, promptTokens: contextTokens, fimOrder: nil)
        var configurations = [SpeculativeBenchmark.Configuration(name: "alone", kinds: [])]
        if draftOptions.usesLookup { configurations.append(.init(name: "lookup", kinds: [.ngram])) }
        if pipeline.draft != nil { configurations.append(.init(name: "draft", kinds: [.model])) }
        if draftOptions.usesLookup && pipeline.draft != nil { configurations.append(.init(name: "both", kinds: [.ngram, .model])) }
        var benchmark = SpeculativeBenchmark(pipeline: pipeline, configurations: configurations, maxTokens: maxTokens)
        if let dumpPrompts {
            guard FileManager.default.createFile(atPath: dumpPrompts, contents: nil),
                  let handle = FileHandle(forWritingAtPath: dumpPrompts) else { throw CLIError("cannot write \(dumpPrompts)") }
            benchmark.record = { task, prompt, outcome in
                let line: [String: Any] = [
                    "task": task.rawValue, "prompt": prompt.tokens.map(Int.init), "healing": prompt.healing.map(Int.init),
                    "generatedTokens": outcome.generatedTokens, "text": outcome.candidates.first ?? "",
                ]
                try handle.write(contentsOf: JSONSerialization.data(withJSONObject: line, options: [.sortedKeys]) + Data("\n".utf8))
            }
        }
        let contents = files.map(\.contents)
        var results: [(task: SpeculativeBenchmark.Task, totals: [String: SpeculativeBenchmark.Totals])] = []
        for task in SpeculativeBenchmark.Task.allCases {
            let count = task == .line ? samples : (continueSamples ?? samples)
            guard count > 0 else { continue }
            let positions = CompletionTask.sample(files: contents, count: count, seed: seed)
            var bar = ProgressBar()
            let totals = try benchmark.run(task, positions: positions, files: files, language: lang) { done, total in
                bar.update(label: task.rawValue, done: done, total: total)
            }
            bar.finish()
            results.append((task, totals))
        }
        if json {
            var object: [String: Any] = [
                "model": model.path ?? model.name, "draft": draftOptions.draftPath ?? "none", "lookup": draftOptions.usesLookup,
                "threads": modelOptions.threadCount, "data": data, "language": lang, "seed": seed, "contextTokens": contextTokens,
                "lookupTokens": draftOptions.lookupTokens, "draftTokens": draftOptions.draftTokens,
                "draftMinProbability": Double(draftOptions.draftMinProbability),
            ]
            for (task, totals) in results {
                var entry: [String: Any] = [:]
                for (name, t) in totals {
                    entry[name] = [
                        "positions": t.positions, "tokens": t.tokens, "seconds": t.seconds, "tokensPerSecond": t.tokensPerSecond,
                        "speedup": t.tokensPerSecond / max(1e-9, totals["alone"]!.tokensPerSecond),
                        "rounds": t.rounds, "drafted": t.drafted, "accepted": t.accepted,
                        "ngram": ["rounds": t.ngramRounds, "drafted": t.ngramDrafted, "accepted": t.ngramAccepted],
                        "model": ["rounds": t.modelRounds, "drafted": t.modelDrafted, "accepted": t.modelAccepted],
                        "resynchronisations": t.resynchronisations, "mismatches": t.mismatches,
                        "latencyP50Ms": CompletionMetrics.percentile(t.latenciesMs, 0.5),
                        "latencyP95Ms": CompletionMetrics.percentile(t.latenciesMs, 0.95),
                    ] as [String: Any]
                }
                object[task.rawValue] = entry
            }
            let encoded = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            print(String(decoding: encoded, as: UTF8.self))
            return
        }
        print("model \(model.path ?? model.name), draft \(draftOptions.draftPath ?? "none"), lookup \(draftOptions.usesLookup ? "on" : "off"), "
              + "\(modelOptions.threadCount) threads, \(lang) files under \(data)")
        print("| task | drafts | positions | tokens | tokens/s | speed-up | drafted/round | accepted/round | acceptance | p50 ms | p95 ms | differing texts |")
        print("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
        for (task, totals) in results {
            let base = totals["alone"]!.tokensPerSecond
            for configuration in configurations {
                guard let t = totals[configuration.name] else { continue }
                let perRound = t.rounds > 0 ? String(format: "%.2f", Double(t.drafted) / Double(t.rounds)) : "–"
                let acceptedPerRound = t.rounds > 0 ? String(format: "%.2f", Double(t.accepted) / Double(t.rounds)) : "–"
                let rate = t.drafted > 0 ? String(format: "%.0f%%", 100 * Double(t.accepted) / Double(t.drafted)) : "–"
                print("| \(task.rawValue) | \(configuration.name) | \(t.positions) | \(t.tokens) | "
                      + String(format: "%.1f | %.2f× | ", t.tokensPerSecond, t.tokensPerSecond / max(1e-9, base))
                      + "\(perRound) | \(acceptedPerRound) | \(rate) | "
                      + String(format: "%.0f | %.0f | ", CompletionMetrics.percentile(t.latenciesMs, 0.5), CompletionMetrics.percentile(t.latenciesMs, 0.95))
                      + "\(t.mismatches) |")
            }
        }
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
