import ArgumentParser
import Foundation
import JSONRPC
import LanguageServer
import Logging
import Synchronization

struct BenchLSP: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-lsp",
        abstract: "Simulate typing against the language server and measure inline-completion latency.",
        discussion: """
            Runs the server in this process over a pair of pipes, as an editor would: opens a Swift file \
            (--file, or 1,500 lines of the Swift sources under ./Sources), then types the file's own lines \
            again at a cursor in its middle at --rate keystrokes per second for --seconds, each keystroke an \
            incremental didChange followed by an automatic inlineCompletion request. A request still \
            unanswered when the next keystroke comes is cancelled with $/cancelRequest. Reports the \
            request-to-response latency of the answered requests (p50/p95/p99), how many the typing cache \
            answered (and of those, how many the model wrote where a draft model answers first: --draft FILE \
            --tiered), how many were cancelled or superseded, the peak RSS and the machine's load. \
            Build with -c release.
            """)

    @Option(help: "The GGUF model file (default: the embedded default model).")
    var model: String?

    @Option(help: "The Swift file to type into (default: 1,500 lines of ./Sources/**/*.swift).")
    var file: String?

    @Option(help: "Keystrokes per second.")
    var rate: Double = 20

    @Option(help: "Seconds of typing.")
    var seconds: Double = 30

    @OptionGroup(title: "Speculative decoding (as serve's)") var draftOptions: ServerDraftOptions

    @Option(help: "Worker threads for the model.")
    var threads: Int = 2

    @Option(help: "Lines of the generated file when --file is not given.")
    var lines: Int = 1500

    func validate() throws {
        guard rate > 0 && rate <= 1000 else { throw ValidationError("--rate must be in (0, 1000], not \(rate)") }
        guard seconds > 0 && seconds <= 3600 else { throw ValidationError("--seconds must be in (0, 3600], not \(seconds)") }
        guard (1...256).contains(threads) else { throw ValidationError("--threads must be between 1 and 256, not \(threads)") }
        guard lines >= 20 else { throw ValidationError("--lines must be at least 20, not \(lines)") }
    }

    func run() throws {
        let text = try file.map { try String(contentsOfFile: $0, encoding: .utf8) } ?? Self.concatenatedSources(lines: lines)
        let documentLines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard documentLines.count >= 20 else { throw BenchLSPError.fileTooShort(lines: documentLines.count) }

        var configuration = ServerConfiguration()
        configuration.modelPath = try resolvedModelPath(model)
        configuration.threads = threads
        try draftOptions.apply(to: &configuration)
        let session = BenchSession(configuration: configuration)
        defer { session.close() }
        try session.start(uri: "file:///bench/Typing.swift", text: text)

        // Type the text of lines 100... of the file again, on a new line inserted in the middle.
        let typed = documentLines[min(100, documentLines.count / 4)...].joined(separator: "\n")
        var line = documentLines.count / 2, column = 0
        session.insert("\n", line: line, character: documentLines[line].utf16.count)
        line += 1

        let keystrokes = Int(rate * seconds)
        let start = ContinuousClock.now
        var characters = typed.makeIterator()
        for k in 0..<keystrokes {
            let due = start + .milliseconds(Int(Double(k) * 1000 / rate))
            let wait = due - ContinuousClock.now
            if wait > .zero { Thread.sleep(forTimeInterval: Double(wait.components.attoseconds) / 1e18 + Double(wait.components.seconds)) }
            guard let character = characters.next() else { break }
            session.cancelUnanswered()
            session.insert(String(character), line: line, character: column)
            if character == "\n" { line += 1; column = 0 } else { column += String(character).utf16.count }
            session.requestInlineCompletion(line: line, character: column)
        }
        session.finish()
        let report = session.report()
        print(report.text(keystrokes: keystrokes, rate: rate, seconds: seconds, documentLines: documentLines.count,
                          load: Self.loadAverage(), peakKilobytes: Self.peakResidentKilobytes()))
    }

    /// Swift sources under ./Sources, concatenated in path order, cut to `lines` lines.
    static func concatenatedSources(lines: Int) throws -> String {
        let root = URL(fileURLWithPath: "Sources")
        guard let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil) else {
            throw BenchLSPError.noSources(path: root.path)
        }
        let files = walker.compactMap { $0 as? URL }.filter { $0.pathExtension == "swift" }.sorted { $0.path < $1.path }
        var collected: [Substring] = []
        for file in files where collected.count < lines {
            let text = try String(contentsOf: file, encoding: .utf8)
            collected += text.split(separator: "\n", omittingEmptySubsequences: false)
        }
        guard collected.count >= lines else { throw BenchLSPError.noSources(path: root.path) }
        return collected.prefix(lines).joined(separator: "\n") + "\n"
    }

    static func loadAverage() -> String {
        (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").prefix(3).joined(separator: " ") ?? "unknown"
    }

    /// VmHWM (peak resident set) of this process, which holds both the server and the simulated editor.
    static func peakResidentKilobytes() -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }) else { return nil }
        return Int(line.split(separator: " ")[1])
    }
}

enum BenchLSPError: Error, CustomStringConvertible {
    case fileTooShort(lines: Int)
    case noSources(path: String)
    case noAnswer(what: String)
    case requestFailed(what: String, error: String)

    var description: String {
        switch self {
        case .fileTooShort(let lines): return "the file has \(lines) lines; the benchmark needs at least 20"
        case .noSources(let path): return "not enough Swift sources under \(path) to make a file; run from the repository root or pass --file"
        case .noAnswer(let what): return "the server did not answer \(what) within 60 s"
        case .requestFailed(let what, let error): return "\(what) failed: \(error)"
        }
    }
}

/// The simulated editor: a JSON-RPC client on pipes to an in-process `LanguageServer`.
final class BenchSession: JSONRPCMessageHandler {
    struct Sent { var at: ContinuousClock.Instant; var cancelled = false }

    struct Tally {
        var sent: [Int64: Sent] = [:]
        var latencies: [Duration] = []
        var answeredEmpty = 0
        var cancelledAnswers = 0  // -32800 after our $/cancelRequest
        var supersededAnswers = 0  // empty answers to requests we had cancelled but the server superseded first
        var cancelRequestsSent = 0
        var fromCache = 0
        var fromCacheModel = 0  // tiered: cache answers the model wrote (after the draft model's)
        var failures: [String] = []
        var warmUp: Result<JSONValue, ResponseError>?
    }

    private let server: LanguageServer
    private let serverConnection: JSONRPCConnection
    private let connection: JSONRPCConnection
    private let pipes: [Int32]
    private let tally = Mutex(Tally())
    private let nextID = Atomic<Int64>(1)
    private let version = Atomic<Int64>(1)
    private let uri = Mutex("")

    init(configuration: ServerConfiguration) {
        var toServer: [Int32] = [0, 0], fromServer: [Int32] = [0, 0]
        precondition(pipe(&toServer) == 0 && pipe(&fromServer) == 0, "pipe() failed")
        pipes = toServer + fromServer
        // Debug level: the server reports each answer from the typing cache with window/logMessage.
        server = LanguageServer(configuration: configuration, logLevel: .debug, sink: LogSink(standardError: false)) { _ in }
        serverConnection = JSONRPCConnection(input: toServer[0], output: fromServer[1])
        connection = JSONRPCConnection(input: fromServer[0], output: toServer[1])
        serverConnection.start(handler: server)
        connection.start(handler: self)
    }

    /// initialize, initialized, didOpen, and one invoked request that waits for the model to load (not measured).
    func start(uri: String, text: String) throws {
        self.uri.withLock { $0 = uri }
        connection.send(.request(id: .int(0), method: "initialize", params: ["processId": .null, "capabilities": [:]]))
        connection.sendNotification("initialized", params: [:])
        connection.sendNotification("textDocument/didOpen", params: ["textDocument": ["uri": .string(uri), "languageId": "swift",
                                                                                      "version": 1, "text": .string(text)]])
        let id = nextID.wrappingAdd(1, ordering: .relaxed).oldValue
        connection.send(.request(id: .int(id), method: "textDocument/inlineCompletion", params: Self.params(uri, 0, 0, invoked: true)))
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            if let answer = tally.withLock({ $0.warmUp }) {
                if case .failure(let error) = answer { throw BenchLSPError.requestFailed(what: "the warm-up request", error: "\(error)") }
                return
            }
            Thread.sleep(forTimeInterval: 0.005)
        }
        throw BenchLSPError.noAnswer(what: "the warm-up request")
    }

    static func params(_ uri: String, _ line: Int, _ character: Int, invoked: Bool) -> JSONValue {
        ["textDocument": ["uri": .string(uri)], "position": ["line": .int(Int64(line)), "character": .int(Int64(character))],
         "context": ["triggerKind": invoked ? 1 : 2]]
    }

    func insert(_ text: String, line: Int, character: Int) {
        let position: JSONValue = ["line": .int(Int64(line)), "character": .int(Int64(character))]
        let next = version.wrappingAdd(1, ordering: .relaxed).newValue
        connection.sendNotification("textDocument/didChange", params: [
            "textDocument": ["uri": .string(uri.withLock { $0 }), "version": .int(next)],
            "contentChanges": [["range": ["start": position, "end": position], "text": .string(text)]],
        ])
    }

    func requestInlineCompletion(line: Int, character: Int) {
        let id = nextID.wrappingAdd(1, ordering: .relaxed).oldValue
        tally.withLock { $0.sent[id] = Sent(at: .now) }
        connection.send(.request(id: .int(id), method: "textDocument/inlineCompletion",
                                 params: Self.params(uri.withLock { $0 }, line, character, invoked: false)))
    }

    /// What an editor does before the next request: cancel the ones still waiting.
    func cancelUnanswered() {
        let waiting = tally.withLock { tally -> [Int64] in
            let ids = tally.sent.filter { !$0.value.cancelled }.map(\.key)
            for id in ids { tally.sent[id]?.cancelled = true }
            tally.cancelRequestsSent += ids.count
            return ids
        }
        for id in waiting { connection.sendNotification("$/cancelRequest", params: ["id": .int(id)]) }
    }

    /// Waits (up to 10 s) for the last answers.
    func finish() {
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline && !tally.withLock({ $0.sent.isEmpty }) { Thread.sleep(forTimeInterval: 0.005) }
    }

    func close() {
        guard pipes[1] >= 0 else { return }
        Glibc.close(pipes[1])
        serverConnection.waitUntilClosed()
        Glibc.close(pipes[3])
        connection.waitUntilClosed()
        Glibc.close(pipes[0])
        Glibc.close(pipes[2])
    }

    func handle(_ message: JSONRPCMessage, on connection: JSONRPCConnection) {
        let now = ContinuousClock.now
        switch message {
        case .response(.int(let id), let result):
            tally.withLock { tally in
                if id == 1 { tally.warmUp = .success(result); return }
                guard let sent = tally.sent.removeValue(forKey: id) else { return }
                let empty = result["items"]?.arrayValue?.isEmpty ?? true
                if sent.cancelled && empty {
                    tally.supersededAnswers += 1
                } else {
                    tally.latencies.append(now - sent.at)
                    if empty { tally.answeredEmpty += 1 }
                }
            }
        case .error(.int(let id)?, let error):
            tally.withLock { tally in
                if id == 1 { tally.warmUp = .failure(error); return }
                guard tally.sent.removeValue(forKey: id) != nil else { return }
                if error.code == .requestCancelled { tally.cancelledAnswers += 1 } else { tally.failures.append("\(id): \(error)") }
            }
        case .notification("window/logMessage", let params):
            let message = params?["message"]?.stringValue ?? ""
            if message.contains("answered from the typing cache") {
                tally.withLock { tally in
                    tally.fromCache += 1
                    if message.contains("(the model's answer, after the draft model's)") { tally.fromCacheModel += 1 }
                }
            }
        case .request(let id, _, _):
            connection.sendResponse(to: id, result: .null)
        default:
            break
        }
    }

    func connectionClosed(_ connection: JSONRPCConnection) {}

    func report() -> BenchLSPReport {
        tally.withLock { tally in
            BenchLSPReport(latencies: tally.latencies.sorted(), answeredEmpty: tally.answeredEmpty, fromCache: tally.fromCache, fromCacheModel: tally.fromCacheModel,
                           cancelRequestsSent: tally.cancelRequestsSent, cancelledAnswers: tally.cancelledAnswers,
                           supersededAnswers: tally.supersededAnswers, unanswered: tally.sent.count, failures: tally.failures)
        }
    }
}

/// The figures of one run.
struct BenchLSPReport {
    var latencies: [Duration]
    var answeredEmpty: Int
    var fromCache: Int
    var fromCacheModel: Int
    var cancelRequestsSent: Int
    var cancelledAnswers: Int
    var supersededAnswers: Int
    var unanswered: Int
    var failures: [String]

    func percentile(_ p: Double) -> Double? {
        guard !latencies.isEmpty else { return nil }
        let index = min(latencies.count - 1, Int((p / 100 * Double(latencies.count)).rounded(.up)) - 1)
        let d = latencies[max(0, index)].components
        return Double(d.seconds) * 1000 + Double(d.attoseconds) / 1e15
    }

    func text(keystrokes: Int, rate: Double, seconds: Double, documentLines: Int, load: String, peakKilobytes: Int?) -> String {
        func ms(_ value: Double?) -> String { value.map { String(format: "%.1f ms", $0) } ?? "n/a" }
        let requests = latencies.count + cancelledAnswers + supersededAnswers + failures.count + unanswered
        var lines = [
            "typing: \(keystrokes) keystrokes at \(rate)/s for \(seconds) s into a \(documentLines)-line Swift file",
            "requests: \(requests); answered \(latencies.count) (\(answeredEmpty) empty), from the typing cache \(fromCache) (\(fromCacheModel) the model's answer after the draft model's)",
            "cancelled by the editor: \(cancelRequestsSent) $/cancelRequest sent; answered -32800: \(cancelledAnswers); superseded (empty): \(supersededAnswers); unanswered at the end: \(unanswered)",
            "latency of answered requests: p50 \(ms(percentile(50))), p95 \(ms(percentile(95))), p99 \(ms(percentile(99))), max \(ms(percentile(100)))",
            "peak RSS: \(peakKilobytes.map { String(format: "%.1f MB", Double($0) / 1024) } ?? "unknown"); load average: \(load)",
        ]
        if !failures.isEmpty { lines.append("errors: \(failures.count), first: \(failures[0])") }
        return lines.joined(separator: "\n")
    }
}
